// Pins the embedded store's mesh, member, session, topic, group and grant semantics.
import { afterEach, describe, expect, test } from "bun:test";
import { randomId } from "../../src/crypto/hash.ts";
import { verifyChain } from "../../src/protocol/audit-chain.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { addMember, count, directMessage, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";
import { wholeChain } from "../helpers/audit-chain.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const code = async (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => (e instanceof MeshError ? e.code : String(e)));

describe("createMesh", () => {
  test("creates the owner, #general led by the owner, and a verifiable mesh_created entry", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    expect(mesh.keyEpoch).toBe(0);
    expect(await store.getMesh(mesh.id)).toEqual(mesh);
    expect(owner).toMatchObject({ meshId: mesh.id, role: "owner", revokedAt: null, banned: false, status: "idle", summary: "", lastSeenAt: null });
    const general = (await store.getTopic(mesh.id, "general"))!;
    expect(general).toMatchObject({ description: "Everyone in the mesh", createdBy: owner.id, lastOffset: 0 });
    expect(await store.topicMembers(general.id)).toEqual([{ memberId: owner.id, displayName: "owner", pubkey: owner.pubkey, role: "lead" }]);
    const chain = await wholeChain(store, mesh.id);
    expect(chain).toHaveLength(1);
    expect(chain[0]).toMatchObject({ seq: 1, eventType: "mesh_created", actor: owner.id, payload: { slug: mesh.slug, name: mesh.name, ownerPubkey: mesh.ownerPubkey } });
    expect(verifyChain(chain).valid).toBe(true);
  });

  test("a taken slug or id is a conflict and changes nothing", async () => {
    const store = await tmp.open();
    const { mesh } = await seedMesh(store, "taken");
    const tables = ["meshes", "members", "topics", "topic_members", "audit_log"];
    const before = tables.map((t) => count(store, t));
    expect(await code(seedMesh(store, "taken"))).toBe("conflict");
    const sameId = store.createMesh({ mesh: { ...mesh, slug: "other" }, owner: { id: randomId(), pubkey: pubkey(), displayName: "x" } });
    expect(await code(sameId)).toBe("conflict");
    expect(tables.map((t) => count(store, t))).toEqual(before);
  });

  test("setKeyEpoch records key_rotated; unknown mesh is not_found", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    await store.setKeyEpoch(mesh.id, 3, owner.id, "member removed");
    expect((await store.getMesh(mesh.id))!.keyEpoch).toBe(3);
    expect((await wholeChain(store, mesh.id)).at(-1)).toMatchObject({ eventType: "key_rotated", payload: { epoch: 3, reason: "member removed" } });
    expect(await code(store.setKeyEpoch("nope-nope", 1, owner.id, null))).toBe("not_found");
  });
});

describe("members and presence", () => {
  test("lookups by id and key; presence on members and sessions", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner, "peer");
    expect(await store.getMember(mesh.id, peer.id)).toEqual(peer);
    expect(await store.getMemberByPubkey(mesh.id, peer.pubkey)).toEqual(peer);
    expect(await store.getMember("other-mesh", peer.id)).toBeNull();
    expect((await store.listMembers(mesh.id)).map((m) => m.id)).toEqual([owner.id, peer.id]);

    await store.setPresence(mesh.id, peer.pubkey, { status: "working", summary: "refactoring" });
    await store.setPresence(mesh.id, peer.pubkey, { lastSeenAt: 42 });
    expect(await store.getMember(mesh.id, peer.id)).toMatchObject({ status: "working", summary: "refactoring", lastSeenAt: 42 });

    const sessionKey = pubkey();
    await store.upsertSession({ meshId: mesh.id, pubkey: sessionKey, memberId: peer.id, displayName: "peer/1", cwd: "/w", hostname: "h", lastSeenAt: 100, attestation: null });
    await store.setPresence(mesh.id, sessionKey, { status: "dnd" });
    expect(await store.getSession(mesh.id, sessionKey)).toMatchObject({ status: "dnd", summary: "", firstSeenAt: 100 });
  });

  test("a session keeps the attestation of its last hello, or of a later attest request", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const key = pubkey();
    const att = (expiresAt: number) => ({ sessionPubkey: key, parentMemberPubkey: owner.pubkey, expiresAt, signature: "ab".repeat(64) });
    const seen = { meshId: mesh.id, pubkey: key, memberId: owner.id, displayName: "owner/1", cwd: "/w", hostname: "h", lastSeenAt: 100 };
    expect(await store.upsertSession({ ...seen, attestation: att(1000) })).toMatchObject({ attestation: att(1000) });
    await store.setSessionAttestation(mesh.id, key, att(2000));
    expect((await store.getSession(mesh.id, key))!.attestation).toEqual(att(2000));
    await store.upsertSession({ ...seen, lastSeenAt: 200, attestation: att(3000) });
    expect((await store.listSessions(mesh.id, 0)).map((s) => s.attestation)).toEqual([att(3000)]);
    await store.setSessionAttestation(mesh.id, pubkey(), att(4000)); // an unknown session: nothing
    expect((await store.listSessions(mesh.id, 0)).length).toBe(1);
  });

  test("revokeMember bans, removes from topics and groups, clears member and session queues", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner, "peer");
    const sessionKey = pubkey();
    await store.upsertSession({ meshId: mesh.id, pubkey: sessionKey, memberId: peer.id, displayName: "peer/1", cwd: "", hostname: "", lastSeenAt: Date.now(), attestation: null });
    await store.joinGroup(mesh.id, "backend", peer.id);
    await store.commitSends([directMessage(owner, [peer.pubkey]), directMessage(owner, [sessionKey, owner.pubkey])], 0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(1);

    const revoked = await store.revokeMember(mesh.id, peer.id, { actor: owner.id, ban: true, reason: "left the team", self: false });
    expect(revoked.member).toMatchObject({ banned: true, revokedReason: "left the team" });
    expect(revoked.member.revokedAt).toBeNumber();
    expect(await store.pendingCount(mesh.id, [peer.pubkey, sessionKey])).toBe(0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: sessionKey })).toBe(0);
    expect(await store.pendingCount(mesh.id, [owner.pubkey])).toBe(1);
    expect(await store.memberTopics(mesh.id, peer.id)).toEqual([]);
    expect(await store.groupMembers(mesh.id, "backend")).toEqual([]);
    expect(await store.listSessions(mesh.id, 0)).toEqual([]);
    expect((await wholeChain(store, mesh.id)).at(-1)).toMatchObject({ eventType: "member_revoked", actor: owner.id, payload: { memberId: peer.id, ban: true, reason: "left the team" } });
    // A hello authenticated before the removal and writing its session after it: refused, and the
    // ended session (nor a new one) is not brought back.
    const seen = { meshId: mesh.id, memberId: peer.id, displayName: "peer/1", cwd: "", hostname: "", lastSeenAt: Date.now(), attestation: null };
    expect(await code(store.upsertSession({ ...seen, pubkey: sessionKey }))).toBe("revoked");
    expect(await code(store.upsertSession({ ...seen, pubkey: pubkey() }))).toBe("revoked");
    expect(await store.listSessions(mesh.id, 0)).toEqual([]);
    expect(count(store, "sessions")).toBe(1);
    expect(await code(store.revokeMember(mesh.id, "missing-id", { actor: owner.id, ban: false, reason: null, self: false }))).toBe("not_found");
    // Removed once: a second removal changes nothing and writes no second entry.
    const entries = (await wholeChain(store, mesh.id)).length;
    expect(await code(store.revokeMember(mesh.id, peer.id, { actor: peer.id, ban: false, reason: "left", self: true }))).toBe("conflict");
    expect(await store.getMember(mesh.id, peer.id)).toEqual(revoked.member);
    expect((await wholeChain(store, mesh.id)).length).toBe(entries);
  });

  test("leaving is audited as member_left", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner);
    await store.revokeMember(mesh.id, peer.id, { actor: peer.id, ban: false, reason: null, self: true });
    expect((await wholeChain(store, mesh.id)).at(-1)).toMatchObject({ eventType: "member_left", actor: peer.id, payload: { memberId: peer.id } });
  });
});

describe("sessions", () => {
  test("upsert refreshes, listSessions filters by liveness and time, endSession clears the mailbox", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const [a, b] = [pubkey(), pubkey()];
    const base = { meshId: mesh.id, memberId: owner.id, cwd: "/a", hostname: "h", attestation: null };
    await store.upsertSession({ ...base, pubkey: a, displayName: "a", lastSeenAt: 1000 });
    await store.upsertSession({ ...base, pubkey: b, displayName: "b", lastSeenAt: 500 });
    const again = await store.upsertSession({ ...base, pubkey: a, displayName: "a2", cwd: "/b", lastSeenAt: 2000 });
    expect(again).toMatchObject({ displayName: "a2", cwd: "/b", firstSeenAt: 1000, lastSeenAt: 2000, endedAt: null });
    expect((await store.listSessions(mesh.id, 900)).map((s) => s.pubkey)).toEqual([a]);

    await store.commitSends([directMessage(owner, [a])], 0);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: a })).toBe(1);
    await store.endSession(mesh.id, a, 3000);
    expect((await store.getSession(mesh.id, a))!.endedAt).toBe(3000);
    expect(await store.listSessions(mesh.id, 0)).toHaveLength(1);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: a })).toBe(0);
    expect(await store.pendingCount(mesh.id, [a])).toBe(0);
    const revived = await store.upsertSession({ ...base, pubkey: a, displayName: "a", lastSeenAt: 4000 });
    expect(revived.endedAt).toBeNull();
  });

  test("endSession on a member key leaves the member's queue alone", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner);
    await store.commitSends([directMessage(owner, [peer.pubkey])], 0);
    await store.endSession(mesh.id, peer.pubkey, Date.now());
    expect(await store.pendingCount(mesh.id, [peer.pubkey])).toBe(1);
  });
});

describe("topics, groups, grants", () => {
  test("topics: create, duplicate, join/leave, members and counts", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner, "peer");
    const t = await store.createTopic(mesh.id, "design", "UI talk", peer.id);
    expect(t).toMatchObject({ name: "design", description: "UI talk", createdBy: peer.id, lastOffset: 0 });
    expect(await code(store.createTopic(mesh.id, "design", "", owner.id))).toBe("conflict");
    expect(await store.joinTopic(t.id, owner.id)).toBe(true);
    expect(await store.joinTopic(t.id, owner.id)).toBe(false);
    expect(await store.topicMembers(t.id)).toEqual([
      { memberId: peer.id, displayName: "peer", pubkey: peer.pubkey, role: "lead" },
      { memberId: owner.id, displayName: "owner", pubkey: owner.pubkey, role: "member" },
    ]);
    expect((await store.listTopics(mesh.id)).map((x) => [x.name, x.members])).toEqual([
      ["design", 2],
      ["general", 2],
    ]);
    expect(await store.leaveTopic(t.id, owner.id)).toBe(true);
    expect(await store.leaveTopic(t.id, owner.id)).toBe(false);
    expect((await store.memberTopics(mesh.id, peer.id)).sort()).toEqual([(await store.getTopic(mesh.id, "general"))!.id, t.id].sort());
    expect((await wholeChain(store, mesh.id)).some((e) => e.eventType === "topic_created" && e.actor === peer.id)).toBe(true);
  });

  test("groups list only active members", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner);
    await store.joinGroup(mesh.id, "ops", owner.id);
    await store.joinGroup(mesh.id, "ops", owner.id);
    await store.joinGroup(mesh.id, "ops", peer.id);
    await store.joinGroup(mesh.id, "qa", owner.id);
    expect((await store.groupMembers(mesh.id, "ops")).sort()).toEqual([owner.id, peer.id].sort());
    expect(await store.memberGroups(mesh.id, owner.id)).toEqual(["ops", "qa"]);
    await store.leaveGroup(mesh.id, "ops", owner.id);
    expect(await store.groupMembers(mesh.id, "ops")).toEqual([peer.id]);
  });

  test("meshMemberGroups: every member's groups of one mesh in one call, as memberGroups gives them", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const [peer, idle, gone] = [await addMember(store, owner), await addMember(store, owner), await addMember(store, owner)];
    const other = await seedMesh(store, "other");
    for (const [group, m] of [["qa", owner], ["ops", owner], ["ops", peer], ["zz", gone]] as const) await store.joinGroup(mesh.id, group, m.id);
    await store.joinGroup(other.mesh.id, "elsewhere", other.owner.id);
    await store.revokeMember(mesh.id, gone.id, { actor: owner.id, ban: false, reason: null, self: false });
    const all = await store.meshMemberGroups(mesh.id);
    expect(all).toEqual(new Map([[owner.id, ["ops", "qa"]], [peer.id, ["ops"]]]));
    for (const m of [owner, peer, idle, gone]) expect(all.get(m.id) ?? []).toEqual(await store.memberGroups(mesh.id, m.id));
  });

  test("grants: upsert, delete with null, lookups with empty lists, audited", async () => {
    const store = await tmp.open();
    const { mesh, owner } = await seedMesh(store);
    const peer = await addMember(store, owner);
    const [s1, s2] = [pubkey(), pubkey()];
    await store.setGrant(mesh.id, peer.id, s1, ["dm"], peer.id);
    await store.setGrant(mesh.id, peer.id, s1, ["dm", "topic"], peer.id);
    await store.setGrant(mesh.id, peer.id, s2, [], peer.id);
    await store.setGrant(mesh.id, owner.id, s1, ["broadcast"], owner.id);
    expect(await store.listGrants(peer.id)).toHaveLength(2);
    const byKey = <T extends { recipientMemberId: string; senderPubkey: string }>(gs: T[]) => [...gs].sort((a, b) => (a.recipientMemberId + a.senderPubkey).localeCompare(b.recipientMemberId + b.senderPubkey));
    expect(byKey(await store.meshGrants(mesh.id))).toEqual(
      byKey([
        { recipientMemberId: peer.id, senderPubkey: s1, caps: ["dm", "topic"] },
        { recipientMemberId: peer.id, senderPubkey: s2, caps: [] },
        { recipientMemberId: owner.id, senderPubkey: s1, caps: ["broadcast"] },
      ]) as never,
    );
    await store.setGrant(mesh.id, peer.id, s1, null, peer.id);
    expect((await store.meshGrants(mesh.id)).filter((g) => g.recipientMemberId === peer.id && g.senderPubkey === s1)).toEqual([]);
    const last = (await wholeChain(store, mesh.id)).at(-1)!;
    expect(last).toMatchObject({ eventType: "grant_changed", actor: peer.id, payload: { recipient: peer.id, sender: s1, caps: null } });
  });

  test("rememberSignature refuses a replay", async () => {
    const store = await tmp.open();
    expect(await store.rememberSignature("sig", Date.now() + 1000, 0)).toBe("recorded");
    expect(await store.rememberSignature("sig", Date.now() + 1000, 0)).toBe("replayed");
  });
});
