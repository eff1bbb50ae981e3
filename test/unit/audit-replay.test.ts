// The replay check (src/broker/audit-replay.ts, run by verifyEveryChain at start): each mesh's
// verified audit chain folded into the members, invites, grants and mesh record it implies, and
// compared with the tables. Random histories written through the real store must replay to
// exactly their tables (no false alarm, whatever the order of joins, removals, bans, revocations,
// grant changes and rotations); one field then changed to another valid value with a direct write
// must be found, naming the mesh, the row and the field. 25 histories in CI; FUZZ_SCALE multiplies
// them, FUZZ_SEED replays a run.
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { verifyEveryChain } from "../../src/broker/audit-verifier.ts";
import { ChainReplay, mismatchText, type Mismatch } from "../../src/broker/audit-replay.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import type { Cap } from "../../src/protocol/fields.ts";
import { MAX_PAGE } from "../../src/protocol/limits.ts";
import { securityFacts } from "../../src/store/sqlite/audit-tables.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Member, Mesh } from "../../src/store/types.ts";
import { wholeChain } from "../helpers/audit-chain.ts";
import { fakeClaim, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";

const RUNS = 25 * (Number(process.env.FUZZ_SCALE) || 1);
const SEED = Number(process.env.FUZZ_SEED) || undefined;

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

/** One step of a history; the numbers pick among what exists when it runs. */
type Op =
  | { k: "invite"; mesh: number; by: number; role: "admin" | "member"; maxUses: number }
  | { k: "claim"; mesh: number; invite: number }
  | { k: "revokeInvite"; mesh: number; invite: number }
  | { k: "remove"; mesh: number; member: number; ban: boolean; self: boolean }
  | { k: "grant"; mesh: number; to: number; from: number; caps: Cap[] | null }
  | { k: "rekey"; mesh: number };

const n = fc.nat(50);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("invite" as const), mesh: n, by: n, role: fc.constantFrom("admin" as const, "member" as const), maxUses: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant("claim" as const), mesh: n, invite: n }),
  fc.record({ k: fc.constant("claim" as const), mesh: n, invite: n }),
  fc.record({ k: fc.constant("revokeInvite" as const), mesh: n, invite: n }),
  fc.record({ k: fc.constant("remove" as const), mesh: n, member: n, ban: fc.boolean(), self: fc.boolean() }),
  fc.record({ k: fc.constant("grant" as const), mesh: n, to: n, from: n, caps: fc.option(fc.subarray<Cap>(["dm", "broadcast", "group", "topic"]), { nil: null }) }),
  fc.record({ k: fc.constant("rekey" as const), mesh: n }),
);

const pick = <T>(xs: readonly T[], i: number): T | undefined => xs[i % Math.max(xs.length, 1)];

/** Runs one step through the store as the broker would; a refusal (an invite used up, revoked or
 *  expired, a member already removed) writes nothing, as for the broker. */
async function run(store: SqliteStore, meshes: Mesh[], o: Op): Promise<void> {
  const mesh = pick(meshes, o.mesh)!;
  const members = await store.listMembers(mesh.id);
  const active = members.filter((m) => m.revokedAt === null);
  const owner = members.find((m) => m.role === "owner")!;
  // A history of at most 30 steps makes fewer invites than a page holds.
  const { invites } = await store.listInvites(mesh.id, { afterInviteId: null, inviteId: null, limit: MAX_PAGE, openAt: null });
  try {
    if (o.k === "invite") {
      const issuer = pick(active.filter((m) => m.role !== "member"), o.by)!;
      await store.createInvite(
        { id: randomId(), meshId: mesh.id, role: o.role, maxUses: o.maxUses, expiresAt: Math.floor(Date.now() / 1000) + 3600, issuerMemberId: issuer.id, issuerPubkey: issuer.pubkey, invitePubkey: pubkey(), signature: "s", keySignature: null, keysBlob: "k", createdAt: Date.now() },
        issuer.id,
      );
    } else if (o.k === "claim" && invites.length > 0) {
      await store.claimInvite({ inviteId: pick(invites, o.invite)!.id, nowMs: Date.now(), member: { id: randomId(), pubkey: pubkey(), displayName: "m" }, claim: fakeClaim() });
    } else if (o.k === "revokeInvite" && invites.length > 0) {
      await store.revokeInvite(mesh.id, pick(invites, o.invite)!.id, owner.id);
    } else if (o.k === "remove") {
      const target = pick(members.filter((m) => m.role !== "owner"), o.member);
      if (target) await store.revokeMember(mesh.id, target.id, { actor: o.self ? target.id : owner.id, ban: o.ban && !o.self, reason: o.self ? "left" : null, self: o.self });
    } else if (o.k === "grant") {
      const to = pick(active, o.to)!;
      await store.setGrant(mesh.id, to.id, pick(members, o.from)!.pubkey, o.caps, to.id);
    } else if (o.k === "rekey") {
      await store.setKeyEpoch(mesh.id, (await store.getMesh(mesh.id))!.keyEpoch + 1, owner.id, null);
    }
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
  }
}

/** A field changed to another valid value, and what the replay must then report. */
type Alteration = { table: Mismatch["table"]; column: string; field: string; to: (row: Record<string, any>) => unknown; row: (r: Record<string, any>) => string; key: string };
const member = (r: Record<string, any>) => `member ${r.id}`;
const invite = (r: Record<string, any>) => `invite ${r.id}`;
const toggled = (r: Record<string, any>) => (r.revoked_at === null ? Date.now() : null);
const ALTERATIONS: Alteration[] = [
  { table: "members", column: "pubkey", field: "pubkey", to: () => pubkey(), row: member, key: "id" },
  { table: "members", column: "role", field: "role", to: (r) => (r.role === "member" ? "admin" : "member"), row: member, key: "id" },
  { table: "members", column: "revoked_at", field: "revoked", to: toggled, row: member, key: "id" },
  { table: "members", column: "banned", field: "banned", to: (r) => 1 - r.banned, row: member, key: "id" },
  { table: "members", column: "invite_id", field: "inviteId", to: (r) => (r.invite_id === null ? randomId() : null), row: member, key: "id" },
  { table: "invites", column: "role", field: "role", to: (r) => (r.role === "admin" ? "member" : "admin"), row: invite, key: "id" },
  { table: "invites", column: "max_uses", field: "maxUses", to: (r) => r.max_uses + 1, row: invite, key: "id" },
  { table: "invites", column: "used_count", field: "usedCount", to: (r) => r.used_count + 1, row: invite, key: "id" },
  { table: "invites", column: "expires_at", field: "expiresAt", to: (r) => r.expires_at + 86_400, row: invite, key: "id" },
  { table: "invites", column: "issuer_member_id", field: "issuer", to: () => randomId(), row: invite, key: "id" },
  { table: "invites", column: "revoked_at", field: "revoked", to: toggled, row: invite, key: "id" },
  { table: "grants", column: "caps", field: "caps", to: (r) => (r.caps === '["dm"]' ? '["dm","broadcast"]' : '["dm"]'), row: (r) => `the grant of member ${r.recipient_member_id} to key ${r.sender_pubkey}`, key: "rowid" },
  { table: "meshes", column: "owner_pubkey", field: "ownerPubkey", to: () => pubkey(), row: () => "the mesh's record", key: "id" },
  { table: "meshes", column: "key_epoch", field: "keyEpoch", to: (r) => r.key_epoch + 1, row: () => "the mesh's record", key: "id" },
];

/** Two meshes, each with a member and a grant, so that every table has rows to alter. */
async function seeded(store: SqliteStore): Promise<Mesh[]> {
  const meshes: Mesh[] = [];
  for (const slug of ["alpha", "beta"]) {
    const { mesh } = await seedMesh(store, slug);
    meshes.push(mesh);
    await run(store, meshes, { k: "invite", mesh: meshes.length - 1, by: 0, role: "member", maxUses: 2 });
    await run(store, meshes, { k: "claim", mesh: meshes.length - 1, invite: 0 });
    await run(store, meshes, { k: "grant", mesh: meshes.length - 1, to: 0, from: 1, caps: ["dm"] });
  }
  return meshes;
}

describe("the audit chain replayed against the tables", () => {
  test("random histories replay to exactly their tables; one field changed is named with its mesh and row", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.constantFrom(...ALTERATIONS), fc.nat(), async (ops, alter, which) => {
        tmp.cleanup();
        const store = await tmp.open();
        const meshes = await seeded(store);
        for (const o of ops) await run(store, meshes, o);
        expect(await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).toMatchObject({ meshes: 2, broken: null });

        const rows = store.db.query<Record<string, any>, []>(`SELECT rowid, * FROM ${alter.table}`).all();
        const row = rows[which % rows.length]!;
        store.db.run(`UPDATE ${alter.table} SET ${alter.column} = ? WHERE ${alter.key} = ?`, [alter.to(row) as any, row[alter.key]]);
        const found = (await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).broken;
        const meshId = alter.table === "meshes" ? row.id : row.mesh_id;
        expect({ meshId: found?.meshId, table: found?.mismatch?.table, row: found?.mismatch?.row, field: found?.mismatch?.field }).toEqual({ meshId, table: alter.table, row: alter.row(row), field: alter.field });
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);

  test("rows the chain never made, and rows it made that are gone, are named; so is a row under a mesh id nothing else has", async () => {
    const store = await tmp.open();
    const [alpha] = await seeded(store);
    const injected = { id: "mbr_injected01", pubkey: pubkey() };
    store.db.run("INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at) VALUES (?, ?, ?, 'carol', 'member', 0)", [injected.id, alpha!.id, injected.pubkey]);
    const broken = (await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).broken!;
    expect({ meshId: broken.meshId, reason: broken.reason }).toEqual({ meshId: alpha!.id, reason: `member ${injected.id} is in the members table, but no entry of the chain makes it` });

    store.db.run("PRAGMA foreign_keys = OFF");
    store.db.run("UPDATE members SET mesh_id = 'zzzzzzzzzzzz' WHERE id = ?", [injected.id]);
    expect((await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).broken).toMatchObject({ meshId: "zzzzzzzzzzzz", brokenAt: null, reason: `member ${injected.id} is in the members table, but no entry of the chain makes it` });

    store.db.run("DELETE FROM members WHERE id = ?", [injected.id]);
    const grant = store.db.query<{ recipient_member_id: string; sender_pubkey: string }, [string]>("SELECT * FROM grants WHERE mesh_id = ?").get(alpha!.id)!;
    store.db.run("DELETE FROM grants WHERE mesh_id = ?", [alpha!.id]);
    const entry = (await wholeChain(store, alpha!.id)).findLast((e) => e.eventType === "grant_changed")!.seq;
    expect((await verifyEveryChain(store, securityFacts(store.db), await store.auditSizes())).broken?.reason).toBe(`the grant of member ${grant.recipient_member_id} to key ${grant.sender_pubkey}, made by the chain (entry ${entry}), is not in the grants table`);
  });

  test("the fold: a second removal adds its ban, a deleted grant is gone, changes to records the chain never made change nothing", () => {
    const replay = new ChainReplay();
    let seq = 0;
    const e = (eventType: string, actor: string | null, payload: unknown) => ({ seq: ++seq, meshId: "m", eventType, actor, payload, createdAt: "", prevHash: "", hash: "" });
    replay.apply([
      e("mesh_created", "own", { slug: "s", name: "n", ownerPubkey: "ko" }),
      e("invite_created", "own", { inviteId: "i1", role: "member", maxUses: 2, expiresAt: 9 }),
      e("member_joined", "b", { memberId: "b", pubkey: "kb", displayName: "bob", role: "member", inviteId: "i1" }),
      e("invite_claimed", "b", { inviteId: "i1", memberId: "b", usedCount: 1 }),
      e("member_left", "b", { memberId: "b" }),
      e("member_revoked", "own", { memberId: "b", ban: true, reason: null }),
      e("member_revoked", "own", { memberId: "ghost", ban: true, reason: null }),
      e("invite_revoked", "own", { inviteId: "ghost" }),
      e("grant_changed", "own", { recipient: "own", sender: "kb", caps: ["dm"] }),
      e("grant_changed", "own", { recipient: "own", sender: "kb", caps: null }),
      e("key_rotated", "own", { epoch: 3, reason: null }),
      e("topic_created", "own", { name: "t" }),
    ]);
    const rows = {
      mesh: { ownerPubkey: "ko", keyEpoch: 3 },
      members: [
        { id: "own", pubkey: "ko", role: "owner", inviteId: null, revoked: false, revokedBy: null, banned: 0 },
        // b left first: the ban after it adds the ban, and b stays the one who ended it.
        { id: "b", pubkey: "kb", role: "member", inviteId: "i1", revoked: true, revokedBy: "b", banned: 1 },
      ],
      invites: [{ id: "i1", role: "member", maxUses: 2, expiresAt: 9, usedCount: 1, issuer: "own", revoked: false }],
      grants: [],
    };
    expect(replay.diff(rows)).toBeNull();
    const unbanned = replay.diff({ ...rows, members: [rows.members[0]!, { ...rows.members[1]!, banned: 0 }] })!;
    expect(mismatchText(unbanned)).toBe("member b: banned is 0 in the table, 1 by the chain (entry 6)");
    // A leave rewritten as a removal by the owner (or back) in the table is caught.
    const kicked = replay.diff({ ...rows, members: [rows.members[0]!, { ...rows.members[1]!, revokedBy: "own" }] })!;
    expect(mismatchText(kicked)).toBe('member b: revokedBy is "own" in the table, "b" by the chain (entry 6)');
    const grant = { recipient: "own", sender: "kb", caps: '["dm","topic"]' };
    expect(mismatchText(replay.diff({ ...rows, grants: [grant] })!)).toBe("the grant of member own to key kb is in the grants table, but no entry of the chain makes it");
    const role = replay.diff({ ...rows, invites: [{ ...rows.invites[0]!, role: "admin" }] })!;
    expect(mismatchText(role)).toBe('invite i1: role is "admin" in the table, "member" by the chain (entry 4)');
  });
});
