// What one mesh's rows, and one member's, cost other requests: each request that reads invites,
// topics, topic and group memberships or grants by mesh, by member or by issuer goes through an
// index of schema 9 (migrations/0009_member_indexes.sql), never through every row of the table.
// Before it: `invite_list` and a removal's revocation of the member's invites read every invite of
// the broker (1,000,000 rows: ~50 ms), and so did each sweep; a roster load read every grant of the
// broker (1,000,000 rows: 45 ms); a member's topics and groups were read through every row of its
// mesh (session 37 had made them mesh-scoped, from every row of the broker: 57 ms per topic_list
// with 1,000,000 topic rows elsewhere). Pinned by the plan of every statement each request runs
// over those tables.
import { expect, test } from "bun:test";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createInvite, createTestMesh } from "../helpers/mesh.ts";
import { plansDuring } from "../helpers/query-plans.ts";
import { INVITE_PAGE_SCAN } from "../../src/protocol/limits.ts";

const TABLES = /\b(invites|topics|topic_members|group_members|grants)\b/;

/** The named indexes (not SQLite's own for keys) the plans use, and any full reads of the tables. */
function summary(plans: string[]) {
  const indexes = new Set(plans.flatMap((p) => [...p.matchAll(/USING (?:COVERING )?INDEX (\w+)/g)].map((m) => m[1]!)).filter((n) => !n.startsWith("sqlite_autoindex")));
  return { indexes: [...indexes].sort(), scans: plans.filter((p) => /\bSCAN (invites|topics|topic_members|group_members|grants)\b|TEMP B-TREE/.test(p)) };
}

test("each request that reads invites, topics, memberships or grants by mesh, member or issuer goes through an index, never every row", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const [bob, carol] = [await addMember(b.url, owner, "bob"), await addMember(b.url, owner, "carol")];
  const o = await connect(b.url, owner, { receive: "pull" });
  const c = await connect(b.url, carol, { receive: "pull" });
  await c.client.request("group_join", { group: "ops" });
  const db = (b.ctx.store as SqliteStore).db;
  const during = async (run: () => Promise<unknown>) => summary(await plansDuring(db, TABLES, run));
  const answers: unknown[] = [];
  const seen = {
    group_join: await during(() => o.client.request("group_join", { group: "ops" })),
    topic_create: await during(() => o.client.request("topic_create", { name: "deploys", description: "" })),
    topic_list: await during(async () => answers.push((await o.client.request("topic_list", {})).topics.map((t) => [t.name, t.joined]))),
    peer_lookup: await during(async () => {
      b.ctx.roster.invalidate(owner.meshId); // its roster loaded afresh, whatever loaded it before
      answers.push((await o.client.request("peer_lookup", { text: "owner" })).peers.map((p) => p.groups));
    }),
    invite_create: await during(() => createInvite(b.url, owner, {}, o)),
    invite_list: await during(async () => answers.push((await o.client.request("invite_list", {})).invites.length)),
    member_revoke: await during(() => o.client.request("member_revoke", { memberId: bob.memberId, ban: false })),
    leave: await during(() => c.client.request("leave", {})),
    sweep: await during(() => (b.ctx.store as SqliteStore).sweep(Date.now(), 60_000)),
    roster_load: await during(async () => {
      b.ctx.roster.invalidate(owner.meshId); // as a grant_set does, and the cache's 30 s expiry
      answers.push((await o.client.request("list_peers", {})).peers.length);
    }),
  };
  expect(answers).toEqual([[["deploys", true], ["general", true]], [["ops"]], 3, 1]);
  const none: string[] = [];
  const removal = { indexes: ["group_members_member", "invites_open", "topic_members_member"], scans: none };
  expect(seen).toEqual({
    group_join: { indexes: ["group_members_member"], scans: none },
    topic_create: { indexes: ["topics_creator"], scans: none },
    topic_list: { indexes: ["topic_members_member"], scans: none },
    peer_lookup: { indexes: ["grants_mesh", "group_members_member"], scans: none },
    invite_create: { indexes: ["invites_open"], scans: none },
    invite_list: { indexes: ["invites_mesh"], scans: none },
    member_revoke: removal,
    leave: removal,
    sweep: { indexes: ["invites_sealed"], scans: none },
    roster_load: { indexes: ["grants_mesh"], scans: none },
  });
  expect(await o.client.request("topic_members", { topic: "general" })).toMatchObject({ members: [{ memberId: owner.memberId }] });
  o.close();
  c.close();
}, 60_000);

test("member_lookup counts an invite's claims through members_invite, not every member of the mesh", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const o = await connect(b.url, owner, { receive: "pull" });
  const db = (b.ctx.store as SqliteStore).db;
  let answer: unknown;
  const plans = await plansDuring(db, /count\(\*\) AS n FROM members m JOIN invites/, async () => {
    answer = await o.client.request("member_lookup", { pubkey: bob.keys.publicKey });
  });
  expect(answer).toMatchObject({ members: [{ pubkey: bob.keys.publicKey }, { pubkey: owner.keys.publicKey }], claims: [{ claimed: 1 }] });
  expect(plans).toHaveLength(1);
  expect(plans[0]).toContain("SEARCH m USING INDEX members_invite (mesh_id=? AND invite_id=?)");
  o.close();
}, 60_000);

test("invite_list pages through invites_mesh, and finds the cursor's and an asked invite's row by its key: none reads the mesh's history", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  const first = await createInvite(b.url, owner, {}, o);
  await createInvite(b.url, owner, {}, o);
  const db = (b.ctx.store as SqliteStore).db;
  const plans = async (fields: Record<string, unknown>) => (await plansDuring(db, /\binvites\b/, () => o.client.request("invite_list", fields))).sort();
  const plain = await plans({});
  // More than one `open` request looks at, so that its window ends inside the list (the mesh's
  // history, as the change allowance writes it over days: here straight into the table).
  const add = db.query("INSERT INTO invites (id, mesh_id, role, max_uses, expires_at, issuer_member_id, issuer_pubkey, invite_pubkey, signature, created_at, revoked_at) VALUES (?, ?, 'member', 1, 0, ?, '', '', '', ?, 1)");
  db.transaction(() => {
    for (let i = 0; i < INVITE_PAGE_SCAN; i++) add.run(`inv_closed_${i}`, owner.meshId, owner.memberId, Date.now() + 1 + i);
  })();
  const range = "SEARCH invites USING INDEX invites_mesh (mesh_id=? AND created_at>? AND created_at<?)";
  const byId = "SEARCH invites USING INDEX sqlite_autoindex_invites_1 (id=?)";
  expect({
    plain,
    paged: await plans({ limit: 1, afterInviteId: first.inviteId }),
    open: await plans({ open: true, afterInviteId: first.inviteId }),
    one: await plans({ inviteId: first.inviteId, open: true }),
  }).toEqual({
    plain: [range],
    paged: [range, byId].sort(),
    // The window's end is counted in the index alone; only its row's id is read from the table.
    open: [range, byId, "SEARCH invites USING COVERING INDEX invites_mesh (mesh_id=? AND created_at>?)", "SEARCH invites USING INTEGER PRIMARY KEY (rowid=?)"].sort(),
    one: [byId],
  });
  o.close();
}, 60_000);
