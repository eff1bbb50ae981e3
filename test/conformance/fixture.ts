// Scenario building blocks on top of the conformance client (wire.ts, transport.ts, envelopes.ts):
// a mesh with its owner, and members enrolled through real invites, as §6.3, §4.3.22, §6.4 and
// §11.5 describe.
import { expect } from "bun:test";
import { newKey, randomId, sodium } from "./wire.ts";
import { claimBody, connect, createMesh, helloFrame, postJson, type Conn, type Frame, type Member } from "./transport.ts";
import { inviteFrame, openKeysBlob, type MeshKeys } from "./envelopes.ts";

export type Mesh = { base: string; meshId: string; owner: Member; meshKeys: MeshKeys; createAnswer: any };

let slugCounter = 0;

/** POST /v1/meshes, and the owner's mesh key of epoch 0 made locally (§11.5 "At creation"). */
export async function newMesh(base: string, ownerName = "alice"): Promise<Mesh> {
  const owner = newKey();
  const meshId = randomId("mesh");
  const slug = `conf-${process.pid}-${++slugCounter}-${Date.now().toString(36)}`;
  const res = await createMesh(base, owner, { meshId, slug, name: "Conformance mesh", ownerDisplayName: ownerName });
  if (res.status !== 201) throw new Error(`create mesh: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    base,
    meshId,
    owner: { meshId, memberId: res.body.member.memberId, key: owner, name: ownerName },
    meshKeys: new Map([[0, sodium.randombytes_buf(32)]]),
    createAnswer: res.body,
  };
}

/**
 * The issuer registers an invite over its open connection (with the mesh keys sealed in the
 * keysBlob), a new key claims it over HTTP, and opens the keysBlob with the link secret.
 */
export async function invite(mesh: Mesh, issuerConn: Conn, issuer: Member, name: string, o: { role?: "member" | "admin" } = {}) {
  const { frame, invite } = inviteFrame(issuer, { role: o.role, meshKeys: mesh.meshKeys });
  const created = await issuerConn.ok(frame);
  const joiner = newKey();
  const claim = await postJson(mesh.base, `/v1/invites/${invite.inviteId}/claim`, claimBody({ meshId: mesh.meshId, inviteId: invite.inviteId, inviteKey: invite.inviteKey, joiner, displayName: name }));
  expect(claim.status).toBe(201);
  const member: Member = { meshId: mesh.meshId, memberId: claim.body.member.memberId, key: joiner, name };
  const meshKeys = claim.body.keysBlob ? openKeysBlob(invite.blobKey, invite.inviteId, claim.body.keysBlob).keys : new Map();
  return { member, meshKeys: meshKeys as MeshKeys, claim: claim.body, created, invite, inviteFrame: frame };
}

/** A mesh with the owner connected and `names` joined through invites and connected. */
export async function meshWith(base: string, names: string[] = ["bob"]) {
  const mesh = await newMesh(base);
  const { conn: ownerConn, ack: ownerAck } = await connect(base, helloFrame(mesh.owner));
  const others: Array<{ member: Member; conn: Conn; ack: Frame; meshKeys: MeshKeys }> = [];
  for (const name of names) {
    const j = await invite(mesh, ownerConn, mesh.owner, name);
    const { conn, ack } = await connect(base, helloFrame(j.member));
    others.push({ member: j.member, conn, ack, meshKeys: j.meshKeys });
  }
  return { mesh, owner: mesh.owner, ownerConn, ownerAck, others };
}

/** Closes every connection given (at the end of a test). */
export async function closeAll(...conns: Conn[]) {
  await Promise.all(conns.map((c) => (c.closeInfo ? c.closed : c.close())));
}
