// invite_list a page at a time (docs/protocol.md §4.3.23), against a real broker on port 0 over the
// WebSocket, and the CLI as a subprocess. Invite rows are never deleted: an admin who creates and
// revokes at the change allowance adds ~200,000 a day (~40 MiB of records), and before pages one
// answer held every one of them. A page holds at most MAX_PAGE; `next` says where the list goes on;
// `open` keeps the invites claims would take; a plain request (a client from before pages) gets the
// whole list while it fits one page, and a refusal, never a part it would take for the whole.
import { expect, test } from "bun:test";
import { MAX_PAGE, INVITE_PAGE_SCAN } from "../../src/protocol/limits.ts";
import type { InviteInfo } from "../../src/protocol/results.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createTestMesh, type TestMember, type TestPeer } from "../helpers/mesh.ts";
import { inviteRows, type InviteRow } from "../helpers/invite-rows.ts";

const nowS = () => Math.floor(Date.now() / 1000);

type Row = InviteRow;

/** Invite rows of `who`'s mesh: a history (test/helpers/invite-rows.ts). */
const bulk = (b: TestBroker, who: TestMember, rows: Row[]) => inviteRows(b, { meshId: who.meshId, memberId: who.memberId, pubkey: who.keys.publicKey }, rows);

/** What the broker holds: invite rows (with their state) and audit entries of every mesh. */
function stored(b: TestBroker) {
  const db = (b.ctx.store as SqliteStore).db;
  return { invites: db.query("SELECT * FROM invites ORDER BY rowid").all(), audit: db.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_log").get()!.n };
}

type Fields = { afterInviteId?: string; limit?: number; open?: boolean; inviteId?: string };

/** Every page of the list from the first, as the pages came: ids and `next`. */
async function pages(o: TestPeer, fields: Omit<Fields, "afterInviteId"> = {}): Promise<{ ids: string[]; next: string | null }[]> {
  const out: { ids: string[]; next: string | null }[] = [];
  let after: string | null = null;
  do {
    const r: { invites: InviteInfo[]; next: string | null } = await o.client.request("invite_list", { ...fields, ...(after === null ? {} : { afterInviteId: after }) });
    out.push({ ids: r.invites.map((i) => i.inviteId), next: r.next });
    after = r.next;
  } while (after !== null && out.length < 1000);
  return out;
}

const refusal = (p: Promise<unknown>) => p.then(() => "answered", (e: { code: string; message: string }) => ({ code: e.code, message: e.message }));

test("more invites than a page: the pages list each exactly once, oldest first, those of one millisecond in the order they were stored", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const t = Date.now() - 60_000;
  // Ids that sort against the order they were stored in, three and two and two to a millisecond.
  const rows = ["inv_zz_first", "inv_mm_second", "inv_aa_third", "inv_yy_fourth", "inv_bb_fifth", "inv_xx_sixth", "inv_cc_seventh"].map((id, i) => ({ id, createdAt: t + [0, 0, 0, 1, 1, 2, 2][i]! }));
  bulk(b, owner, rows);
  const o = await connect(b.url, owner, { receive: "pull" });
  const ids = rows.map((r) => r.id);
  expect(await pages(o, { limit: 3 })).toEqual([
    { ids: ids.slice(0, 3), next: ids[2]! },
    { ids: ids.slice(3, 6), next: ids[5]! },
    { ids: ids.slice(6), next: null },
  ]);
  // A page that ends with the last invite says so: no empty page to ask for.
  expect(await pages(o, { limit: 7 })).toEqual([{ ids, next: null }]);
  expect(await pages(o, { limit: 2 }).then((p) => p.flatMap((x) => x.ids))).toEqual(ids);
  // A paged request without a limit gets pages of 100 (one without any field is a plain one: below).
  bulk(b, owner, Array.from({ length: 200 }, (_, i) => ({ id: `inv_more_${String(i).padStart(4, "0")}`, createdAt: t + 10 + i })));
  expect((await pages(o, { open: false })).map((p) => p.ids.length)).toEqual([100, 100, 7]);
  // One invite by its id, whatever its place; none for an id the mesh does not have.
  expect(await o.client.request("invite_list", { inviteId: "inv_bb_fifth" })).toMatchObject({ invites: [{ inviteId: "inv_bb_fifth", createdAt: t + 1 }], next: null });
  expect(await o.client.request("invite_list", { inviteId: "inv_nobody_has" })).toEqual({ invites: [], next: null });
  o.close();
}, 60_000);

test("open: only invites claims would take (not revoked, not used up, not expired), each once, however many closed ones lie between", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const t = Date.now() - 3_600_000;
  const closed = (tag: string, n: number, from: number, row: Partial<Row>): Row[] => Array.from({ length: n }, (_, i) => ({ id: `inv_${tag}_${String(i).padStart(5, "0")}`, createdAt: from + i, ...row }));
  const open = (id: string, createdAt: number): Row => ({ id, createdAt });
  // More closed invites than one request looks at, with open ones among them and at the ends.
  const rows = [
    open("inv_open_a", t),
    ...closed("revoked", INVITE_PAGE_SCAN, t + 1, { revokedAt: t + 5 }),
    open("inv_open_b", t + INVITE_PAGE_SCAN + 1),
    ...closed("usedup", 3, t + INVITE_PAGE_SCAN + 2, { usedCount: 1, maxUses: 1 }),
    ...closed("expired", 2 * INVITE_PAGE_SCAN, t + INVITE_PAGE_SCAN + 5, { expiresAt: nowS() - 1 }),
    open("inv_open_c", t + 4 * INVITE_PAGE_SCAN),
    { id: "inv_open_d", createdAt: t + 4 * INVITE_PAGE_SCAN + 1, maxUses: 5, usedCount: 4 },
  ];
  bulk(b, owner, rows);
  const o = await connect(b.url, owner, { receive: "pull" });
  const listed = await pages(o, { open: true, limit: 3 });
  expect(listed.flatMap((p) => p.ids)).toEqual(["inv_open_a", "inv_open_b", "inv_open_c", "inv_open_d"]);
  // No request looked at more than INVITE_PAGE_SCAN invites: a page may come back short, even
  // empty, and `next` (not the page's size) says whether the list goes on.
  const at = (i: number) => rows[i * INVITE_PAGE_SCAN - 1]!.id;
  expect(listed).toEqual([
    { ids: ["inv_open_a"], next: at(1) },
    { ids: ["inv_open_b"], next: at(2) },
    { ids: [], next: at(3) },
    { ids: ["inv_open_c", "inv_open_d"], next: null },
  ]);
  // Without `open`, every invite, in pages of at most MAX_PAGE.
  const all = await pages(o, { limit: MAX_PAGE });
  expect({ pages: all.length, ids: all.flatMap((p) => p.ids) }).toEqual({ pages: Math.ceil(rows.length / MAX_PAGE), ids: rows.map((r) => r.id) });
  // `open` with an id: that invite when open, nothing when closed.
  expect((await o.client.request("invite_list", { open: true, inviteId: "inv_open_c" })).invites.map((i) => i.inviteId)).toEqual(["inv_open_c"]);
  expect(await o.client.request("invite_list", { open: true, inviteId: "inv_usedup_00001" })).toEqual({ invites: [], next: null });
  o.close();
}, 60_000);

test("a cursor that names no invite of this mesh, or a limit out of bounds, is refused and changes nothing", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const other = (await createTestMesh(b.url, "zoe")).owner;
  bulk(b, owner, [{ id: "inv_mine_0001", createdAt: Date.now() }]);
  bulk(b, other, [{ id: "inv_theirs_01", createdAt: Date.now() }]);
  const o = await connect(b.url, owner, { receive: "pull" });
  const before = stored(b);
  const unknown = (id: string) => ({
    code: "invalid_argument",
    message: `No invite ${id} in this mesh to list after: give the next of the page before (afterInviteId), or leave afterInviteId out to list from the first invite.`,
  });
  expect(await refusal(o.client.request("invite_list", { afterInviteId: "inv_nobody_has" }))).toEqual(unknown("inv_nobody_has"));
  // Another mesh's invite is no place in this one's list, and is told apart from none by nothing.
  expect(await refusal(o.client.request("invite_list", { afterInviteId: "inv_theirs_01", open: true }))).toEqual(unknown("inv_theirs_01"));
  for (const [field, value] of [["limit", 0], ["limit", MAX_PAGE + 1], ["limit", 1.5], ["open", "yes"], ["afterInviteId", "no!"]] as const) {
    const r = await refusal(o.client.request("invite_list", { [field]: value } as never));
    expect({ field, value, r }).toEqual({ field, value, r: { code: "invalid_frame", message: expect.stringContaining(`Invalid invite_list frame at /${field}`) } });
  }
  expect(stored(b)).toEqual(before);
  // The mesh's own invite is a place in its list: the page after it is empty.
  expect(await o.client.request("invite_list", { afterInviteId: "inv_mine_0001" })).toEqual({ invites: [], next: null });
  o.close();
}, 60_000);

test("a plain request, as a client from before pages sends it: the whole list while it fits a page, else refused, never a part of it", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const t = Date.now() - 60_000;
  bulk(b, owner, Array.from({ length: MAX_PAGE }, (_, i) => ({ id: `inv_plain_${String(i).padStart(4, "0")}`, createdAt: t + i })));
  const o = await connect(b.url, owner, { receive: "pull" });
  const whole = await o.client.request("invite_list", {});
  expect({ n: whole.invites.length, next: whole.next }).toEqual({ n: MAX_PAGE, next: null });
  bulk(b, owner, [{ id: "inv_plain_one_more", createdAt: t + MAX_PAGE }]);
  const before = stored(b);
  expect(await refusal(o.client.request("invite_list", {}))).toEqual({
    code: "unsupported_version",
    message: `This mesh has more than ${MAX_PAGE} invites, more than one answer lists, and this request asks for all of them at once, as claudemesh did before invite lists came in pages (protocol §4.3.23): nothing was listed. Upgrade claudemesh on this machine (\`claudemesh version --json\` shows the version) and run the command again.`,
  });
  expect(stored(b)).toEqual(before);
  // A request with any of the fields is paged: the same mesh lists in two.
  expect((await pages(o, { limit: MAX_PAGE })).map((p) => p.ids.length)).toEqual([MAX_PAGE, 1]);
  o.close();
}, 60_000);

test("no answer grows with the mesh's history: a page of the longest records stays under MAX_PAGE of them", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const t = Date.now() - 60_000;
  // The longest ids there are (64 characters), three pages' worth and more.
  const n = 3 * MAX_PAGE + 7;
  bulk(b, owner, Array.from({ length: n }, (_, i) => ({ id: `inv_${String(i).padStart(60, "0")}`, createdAt: t + i, revokedAt: t + i })));
  const o = await connect(b.url, owner, { receive: "pull" });
  const sizes: number[] = [];
  let after: string | null = null;
  do {
    const r: { invites: InviteInfo[]; next: string | null } = await o.client.request("invite_list", { limit: MAX_PAGE, ...(after ? { afterInviteId: after } : {}) });
    sizes.push(JSON.stringify(r).length);
    after = r.next;
  } while (after !== null);
  // A record holds at most ~260 characters (two 64-character ids, the role, numbers of up to 16
  // digits): a page of MAX_PAGE of them, with the page's own fields, stays under 140 KB.
  expect(sizes.length).toBe(4);
  expect(Math.max(...sizes)).toBeLessThan(140_000);
  expect(await refusal(o.client.request("invite_list", {}))).toMatchObject({ code: "unsupported_version" });
  o.close();
}, 60_000);
