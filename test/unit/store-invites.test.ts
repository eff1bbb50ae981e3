// Pins invite claims: max_uses holds under concurrent claims (one store and two stores on one
// file), each refusal has its own code, and the sealed keys are deleted with the last use.
import { afterEach, describe, expect, test } from "bun:test";
import { randomId } from "../../src/crypto/hash.ts";
import { verifyChain } from "../../src/protocol/audit-chain.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { count, fakeClaim, invite, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";
import { wholeChain } from "../helpers/audit-chain.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const claimant = () => ({ id: randomId(), pubkey: pubkey(), displayName: "joiner" });
const outcome = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => (e instanceof MeshError ? e.code : String(e)));
const tally = (codes: string[]) => Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length]));

async function race(stores: SqliteStore[], inviteId: string, n: number) {
  const claims = Array.from({ length: n }, (_, i) => outcome(stores[i % stores.length]!.claimInvite({ inviteId, nowMs: Date.now(), member: claimant(), claim: fakeClaim() })));
  return tally(await Promise.all(claims));
}

describe("claimInvite", () => {
  test("50 concurrent claims of a 5-use invite: exactly 5 members", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const inv = await invite(store, owner, { maxUses: 5 });
    expect(await race([store], inv.id, 50)).toEqual({ ok: 5, invite_exhausted: 45 });
    expect(await store.listMembers(mesh.id)).toHaveLength(6);
    expect((await store.getInvite(inv.id))!.usedCount).toBe(5);
    expect(verifyChain(await wholeChain(store, mesh.id)).valid).toBe(true);
  });

  test("two stores on one file share the limit", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const b = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(a);
    const inv = await invite(a, owner, { maxUses: 5 });
    expect(await race([a, b], inv.id, 50)).toEqual({ ok: 5, invite_exhausted: 45 });
    expect(count(a, "members")).toBe(6);
    // Both connections appended to one chain without forking it.
    expect(verifyChain(await wholeChain(b, mesh.id))).toMatchObject({ valid: true, entries: 1 + 1 + 5 * 2 });
  });

  test("enrolls with the invite's role, joins #general, audits, and hands the keys to every claimer", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const inv = await invite(store, owner, { maxUses: 2, keysBlob: "a2V5cw==" });
    const first = await store.claimInvite({ inviteId: inv.id, nowMs: 1234, member: claimant(), claim: fakeClaim() });
    expect(first.member).toMatchObject({ role: "member", joinedAt: 1234, meshId: mesh.id });
    expect(first.keysBlob).toBe("a2V5cw==");
    expect(first.invite).toMatchObject({ usedCount: 1, keysBlob: "a2V5cw==" });
    const general = (await store.getTopic(mesh.id, "general"))!;
    expect((await store.topicMembers(general.id)).find((m) => m.memberId === first.member.id)?.role).toBe("member");
    expect((await wholeChain(store, mesh.id)).slice(-2)).toMatchObject([
      { eventType: "member_joined", actor: first.member.id, payload: { memberId: first.member.id, pubkey: first.member.pubkey, displayName: "joiner", role: "member", inviteId: inv.id } },
      { eventType: "invite_claimed", actor: first.member.id, payload: { inviteId: inv.id, memberId: first.member.id, usedCount: 1 } },
    ]);
    // The last use still gets the keys, and they are gone from the database afterwards.
    const last = await store.claimInvite({ inviteId: inv.id, nowMs: Date.now(), member: claimant(), claim: fakeClaim() });
    expect(last.keysBlob).toBe("a2V5cw==");
    expect(last.invite).toMatchObject({ usedCount: 2, keysBlob: null });
    expect((await store.getInvite(inv.id))!.keysBlob).toBeNull();
  });

  test("refusals: not found, revoked, expired, exhausted, already a member", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const claim = (inviteId: string, member = claimant(), nowMs = Date.now()) => outcome(store.claimInvite({ inviteId, nowMs, member, claim: fakeClaim() }));
    expect(await claim("no-such-invite")).toBe("invite_not_found");

    const revoked = await invite(store, owner);
    const after = await store.revokeInvite(mesh.id, revoked.id, owner.id);
    expect(after.revokedAt).toBeNumber();
    expect(after.keysBlob).toBeNull();
    expect(await claim(revoked.id)).toBe("invite_revoked");
    expect(await outcome(store.revokeInvite(mesh.id, "no-such-invite", owner.id))).toBe("not_found");

    const expiresAt = Math.floor(Date.now() / 1000) + 60;
    const expiring = await invite(store, owner, { expiresAt });
    expect(await claim(expiring.id, claimant(), expiresAt * 1000)).toBe("invite_expired");
    expect(await claim(expiring.id, claimant(), expiresAt * 1000 - 1)).toBe("ok");
    expect(await claim(expiring.id, claimant(), expiresAt * 1000 - 1)).toBe("invite_exhausted");

    const twice = await invite(store, owner, { maxUses: 3 });
    const me = claimant();
    expect(await claim(twice.id, me)).toBe("ok");
    // The same key again (its first answer was lost): that enrolment back, nothing written.
    const repeat = await store.claimInvite({ inviteId: twice.id, nowMs: Date.now(), member: { ...me, id: randomId() }, claim: fakeClaim() });
    expect({ repeated: repeat.repeated, pubkey: repeat.member.pubkey }).toEqual({ repeated: true, pubkey: me.pubkey });
    // A key enrolled otherwise (the owner's; through another invite) is a conflict.
    expect(await claim(twice.id, { ...claimant(), pubkey: owner.pubkey })).toBe("conflict");
    const other = await invite(store, owner);
    expect(await claim(other.id, { ...me, id: randomId() })).toBe("conflict");
    // A refused or repeated claim consumes nothing.
    expect((await store.getInvite(twice.id))!.usedCount).toBe(1);
    expect((await store.getInvite(other.id))!.usedCount).toBe(0);
  });

  test("createInvite: reused id is a conflict; listInvites and audit", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const inv = await invite(store, owner, { maxUses: 3 });
    expect(inv).toMatchObject({ usedCount: 0, revokedAt: null, maxUses: 3, role: "member" });
    const { usedCount: _u, revokedAt: _r, ...again } = inv;
    expect(await outcome(store.createInvite(again, owner.id))).toBe("conflict");
    const { keysBlob: _k, invitePubkey: _p, signature: _s, keySignature: _ks, issuerPubkey: _ip, ...listed } = inv;
    expect(await store.listInvites(mesh.id, { afterInviteId: null, inviteId: null, limit: 10, openAt: null })).toEqual({ invites: [listed], next: null });
    expect((await wholeChain(store, mesh.id)).at(-1)).toMatchObject({
      eventType: "invite_created",
      payload: { inviteId: inv.id, role: "member", maxUses: 3, expiresAt: inv.expiresAt },
    });
  });
});

describe("sweep", () => {
  test("deletes the sealed keys of an invite once it has expired, and of no live one", async () => {
    // An invite that expired unused kept its blob for good: an old link plus a database copy
    // opened every epoch's key.
    const store = await tmp.open();
    const { owner } = await seedMesh(store);
    const now = Date.now();
    const old = await invite(store, owner, { expiresAt: Math.floor(now / 1000) - 1, keysBlob: "b2xk" });
    const live = await invite(store, owner, { expiresAt: Math.floor(now / 1000) + 3600, keysBlob: "bGl2ZQ==" });
    await store.sweep(now, 60_000);
    const blob = (id: string) => store.db.query<{ keys_blob: string | null }, [string]>("SELECT keys_blob FROM invites WHERE id = ?").get(id)!.keys_blob;
    expect([blob(old.id), blob(live.id)]).toEqual([null, "bGl2ZQ=="]);
  });
});
