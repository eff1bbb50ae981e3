// A mesh and its members, made through the real flows: a signed POST /v1/meshes for the owner,
// one invite (maxUses = count) created over the WebSocket with a real signature, and every member
// claimed over HTTP, concurrently in chunks. Timings are returned so the report can show them.
// A topic is set up the same way: created by its lead and joined by each member over its own
// WebSocket (setupTopic).
import { randomBytes } from "node:crypto";
import { buildHello } from "../src/client/credentials.ts";
import { claimInvite, createMesh } from "../src/client/http.ts";
import { randomId } from "../src/crypto/hash.ts";
import { generateSigningKeypair, signDetached, signingKeypairFromSeed, type SigningKeypair } from "../src/crypto/sign.ts";
import { inviteCanonical, inviteKeyCanonical } from "../src/protocol/canonical.ts";

export type Member = { meshId: string; memberId: string; keys: SigningKeypair };

/** Claims in flight at once: enough to keep the broker busy, few enough not to time out. */
const CLAIM_CHUNK = 50;
const REQUEST_TIMEOUT_MS = 15_000;

/** One request over a fresh WebSocket as `member`: hello, the request, its result, close. */
function requestAs(wsUrl: string, member: Member, request: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer to ${request.type} within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      ws.close();
      fn();
    };
    ws.onopen = () => ws.send(JSON.stringify(buildHello({ kind: "member", ...member }, { sessionId: randomId(), pid: process.pid, cwd: "/bench", receive: "pull" })));
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data));
      if (f.type === "hello_ack") ws.send(JSON.stringify({ ...request, id: "setup" }));
      else if (f.type === "result" && f.id === "setup") done(() => resolve(f.data));
      else if (f.type === "error") done(() => reject(new Error(`${request.type}: ${f.code}: ${f.message}`)));
    };
  });
}

/** Creates a mesh and `count` members (plus the owner, returned separately). */
export async function setupMesh(httpUrl: string, wsUrl: string, count: number): Promise<{ owner: Member; members: Member[]; ms: number }> {
  const t0 = performance.now();
  const ownerKeys = generateSigningKeypair();
  const slug = `bench-${randomId(4).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
  const { mesh, member } = await createMesh(httpUrl, ownerKeys, { meshId: randomId(), slug, name: `Bench ${slug}`, ownerDisplayName: "owner" });
  const owner: Member = { meshId: mesh.id, memberId: member.memberId, keys: ownerKeys };
  const members = await addMembers(httpUrl, wsUrl, owner, count);
  return { owner, members, ms: performance.now() - t0 };
}

/** Enrols `count` members named `peer0`, `peer1`, … in `owner`'s mesh through one invite of
 *  `count` uses (bench/probe-lookup.ts adds them to a mesh the CLI made). */
export async function addMembers(httpUrl: string, wsUrl: string, owner: Member, count: number): Promise<Member[]> {
  const inviteKeys = signingKeypairFromSeed(new Uint8Array(randomBytes(32)));
  const inviteId = randomId();
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const signature = signDetached(inviteCanonical(owner.meshId, inviteId, expiresAt, "member", owner.keys.publicKey), owner.keys.secretKey);
  // The evidence a broker requires since session 33 (protocol §3.4b): the invite key, bound by the owner.
  const keySignature = signDetached(inviteKeyCanonical(owner.meshId, inviteId, inviteKeys.publicKey, count), owner.keys.secretKey);
  await requestAs(wsUrl, owner, { type: "invite_create", inviteId, expiresAt, role: "member", maxUses: count, invitePubkey: inviteKeys.publicKey, signature, keySignature });

  const members: Member[] = [];
  for (let i = 0; i < count; i += CLAIM_CHUNK) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(CLAIM_CHUNK, count - i) }, async (_, k) => {
        const keys = generateSigningKeypair();
        const r = await claimInvite(httpUrl, { inviteId, meshId: owner.meshId, inviteKeys, joiner: keys, displayName: `peer${i + k}` });
        return { meshId: owner.meshId, memberId: r.member.memberId, keys };
      }),
    );
    members.push(...chunk);
  }
  return members;
}

/** Creates topic `name` with `lead` (who becomes its lead and first member) and has each of
 *  `joiners` join it over its own socket, CLAIM_CHUNK at a time; rejects on the first refusal
 *  (e.g. `conflict`: the topic exists). A post to it then reaches every member but its sender. */
export async function setupTopic(wsUrl: string, name: string, lead: Member, joiners: readonly Member[]): Promise<void> {
  await requestAs(wsUrl, lead, { type: "topic_create", name, description: "bench" });
  for (let i = 0; i < joiners.length; i += CLAIM_CHUNK) {
    await Promise.all(joiners.slice(i, i + CLAIM_CHUNK).map((m) => requestAs(wsUrl, m, { type: "topic_join", topic: name })));
  }
}
