// How many open invites one member may have issued in a mesh (docs/protocol.md §4.3.22,
// MAX_OPEN_INVITES_PER_MEMBER), against a real broker on port 0, over the WebSocket, the
// dashboard's route and the CLI as a subprocess. An invite keeps up to 16 KiB of sealed keys until
// it is used up, revoked or expires (up to 365 days), and an admin may create them at the change
// allowance: before the bound, ~7 GB a day of one admin's. Open is: not revoked, not used up, not
// expired; only those count, and only the issuer's own.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { buildInvite } from "../../src/client/invite-build.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { MAX_KEYS_BLOB_B64_LEN, MAX_OPEN_INVITES_PER_MEMBER } from "../../src/protocol/limits.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { call, code, session } from "../helpers/dashboard.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";

const CAP = MAX_OPEN_INVITES_PER_MEMBER;
const REFUSAL = `You have ${CAP} open invites in this mesh, the most one member may have: revoke one you no longer need first (claudemesh invite list, then claudemesh invite revoke ID), or wait until one is used up or expires. One invite can admit many people (claudemesh invite --max-uses N).`;

type Issuer = Pick<TestMember, "meshId" | "memberId"> & { pubkey: string };
const issuer = (m: TestMember): Issuer => ({ meshId: m.meshId, memberId: m.memberId, pubkey: m.keys.publicKey });

/** `n` one-use invites of `who`, valid `forS` seconds, each with the most sealed keys an invite
 *  carries, made through the store: as if created over the days before (the change allowance would
 *  take a minute for them on the wire). */
async function seed(b: TestBroker, who: Issuer, n: number, forS = 3600): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomId();
    await b.ctx.store.createInvite(
      { id, meshId: who.meshId, role: "member", maxUses: 1, expiresAt: Math.floor(Date.now() / 1000) + forS, issuerMemberId: who.memberId, issuerPubkey: who.pubkey, invitePubkey: hex(32), signature: hex(64), keySignature: hex(64), keysBlob: "A".repeat(MAX_KEYS_BLOB_B64_LEN), createdAt: Date.now() },
      who.memberId,
    );
    ids.push(id);
  }
  return ids;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** What the broker holds for the mesh: invite rows and audit entries. */
function stored(b: TestBroker, meshId: string) {
  const db = (b.ctx.store as SqliteStore).db;
  const n = (sql: string) => db.query<{ n: number }, [string]>(sql).get(meshId)!.n;
  return { invites: n("SELECT count(*) AS n FROM invites WHERE mesh_id = ?"), audit: n("SELECT count(*) AS n FROM audit_log WHERE mesh_id = ?") };
}

const refusalOf = (p: Promise<unknown>) => p.then(() => "created", (e) => ({ code: e.code, message: e.message }));

test("past the bound invite_create is refused and stores nothing; revoked, used-up and expired invites and another issuer's do not count", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const ada = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "ada"); // used up
  const o = await connect(b.url, owner, { receive: "pull" });
  for (const id of await seed(b, issuer(owner), 3)) await b.ctx.store.revokeInvite(owner.meshId, id, owner.memberId);
  await joinWithInvite(b.url, await createInvite(b.url, owner, {}, o), "bob"); // used up
  const soon = await seed(b, issuer(owner), 2, 120);
  await seed(b, issuer(owner), CAP - soon.length - 1);
  const last = await createInvite(b.url, owner, {}, o);

  const before = stored(b, owner.meshId);
  expect(await refusalOf(createInvite(b.url, owner, {}, o))).toEqual({ code: "invalid_argument", message: REFUSAL });
  expect(stored(b, owner.meshId)).toEqual(before);
  // Another issuer's invites are its own to count.
  expect(await refusalOf(createInvite(b.url, ada))).toBe("created");
  // A revocation makes room for one.
  await o.client.request("invite_revoke", { inviteId: last.inviteId });
  expect([await refusalOf(createInvite(b.url, owner, {}, o)), await refusalOf(createInvite(b.url, owner, {}, o))]).toEqual(["created", { code: "invalid_argument", message: REFUSAL }]);
  // So do expiries: three minutes on, the two valid for two minutes admit nobody.
  brokerClock(b, 180_000);
  const next = await Promise.all([0, 1, 2].map(() => refusalOf(createInvite(b.url, owner, {}, o))));
  expect(next.toSorted((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(["created", "created", { code: "invalid_argument", message: REFUSAL }]);
  o.close();
}, 60_000);

test("creations sent together store exactly the bound", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  await seed(b, issuer(owner), CAP - 5);
  const o = await connect(b.url, owner, { receive: "pull" });
  const tries = await Promise.all(Array.from({ length: 20 }, () => refusalOf(createInvite(b.url, owner, {}, o))));
  expect({ created: tries.filter((t) => t === "created").length, refusals: new Set(tries.filter((t) => t !== "created").map((t) => JSON.stringify(t))) }).toEqual({
    created: 5,
    refusals: new Set([JSON.stringify({ code: "invalid_argument", message: REFUSAL })]),
  });
  expect((await o.client.request("invite_list", {})).invites.length).toBe(CAP);
  o.close();
}, 60_000);

test("the dashboard's invite route is refused the same way: 400 invalid_argument, nothing stored", async () => {
  await using b = await startBroker();
  const { mesh, owner } = await createTestMesh(b.url);
  await seed(b, issuer(owner), CAP);
  const cookie = await session(b, owner);
  const links = buildInvite(
    { brokerUrl: b.url, meshId: owner.meshId, slug: mesh.slug, name: mesh.name, publicKey: owner.keys.publicKey, secretKey: owner.keys.secretKey, meshKeys: [{ epoch: 0, key: "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=" }] },
    { inviteId: randomId(), role: "member", maxUses: 1, expiresAt: Math.floor(Date.now() / 1000) + 3600 },
  );
  const before = stored(b, owner.meshId);
  const r = await call(b, "POST", "/v1/dashboard/invites", { cookie, body: links.frame });
  expect({ ...code(r), message: r.body?.error?.message }).toEqual({ status: 400, code: "invalid_argument", message: REFUSAL });
  expect(stored(b, owner.meshId)).toEqual(before);
}, 60_000);

test("`claudemesh invite` past the bound exits 2 with the broker's words; after `invite revoke` it makes one", async () => {
  await using team = await cliTeam(["alice"]);
  const { b, dirs: [alice] } = team;
  const e = loadConfig(alice).meshes[0]!;
  const [first] = await seed(b, { meshId: e.meshId, memberId: e.memberId, pubkey: e.publicKey }, CAP);
  const r = await cli(alice, ["invite"]);
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: `claudemesh: ${REFUSAL}\n` });
  expect(ok(await cli(alice, ["invite", "list", "--json"])).json().invites.length).toBe(CAP);
  ok(await cli(alice, ["invite", "revoke", first!]));
  expect(ok(await cli(alice, ["invite", "--json"])).json()).toMatchObject({ role: "member", maxUses: 1 });
}, 60_000);

test("in several meshes the refusal's commands carry the --mesh they need, and run as printed", async () => {
  await using team = await cliTeam(["alice"]);
  const { b, dirs: [alice] } = team;
  ok(await cli(alice, ["new", "Lab", "--broker", b.url]));
  const slug = team.mesh.slug;
  const e = loadConfig(alice).meshes.find((m) => m.slug === slug)!;
  await seed(b, { meshId: e.meshId, memberId: e.memberId, pubkey: e.publicKey }, CAP);
  const r = await cli(alice, ["invite", "--mesh", slug]);
  const flag = ` --mesh ${slug}`;
  expect({ code: r.code, stderr: r.stderr }).toEqual({
    code: 2,
    stderr: `claudemesh: ${REFUSAL.replace("invite list,", `invite list${flag},`).replace("revoke ID)", `revoke ID${flag})`).replace("--max-uses N)", `--max-uses N${flag})`)}\n`,
  });
  const listing = r.stderr.match(/\(claudemesh (invite list[^,]*),/)![1]!.split(" ");
  expect(ok(await cli(alice, [...listing, "--json"])).json().invites.length).toBe(CAP);
  // The other mesh has room: its invite is made.
  expect(ok(await cli(alice, ["invite", "--mesh", "lab", "--json"])).json()).toMatchObject({ maxUses: 1 });
}, 60_000);
