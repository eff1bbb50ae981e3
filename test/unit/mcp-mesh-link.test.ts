// The MCP server's link to one mesh, fed pushes directly (no broker: its client never connects):
// a message sealed under a mesh key epoch the server has not learnt yet is kept, and shown once the
// owner's keys arrive. It used to be dropped from memory unacked, so the broker counted it as
// pushed and it stayed unread until the next reconnect.
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { MeshLink } from "../../src/mcp/mesh-link.ts";
import { MeshSession, keysBody, makeMeshKey, type Identity } from "../../src/client/mesh-session.ts";
import { saveConfig, type MeshEntry } from "../../src/client/local/config-file.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { jsonLog } from "../../src/log/log.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { scratchDir } from "../preload.ts";

const MESH = "mesh-unit-link01";
const owner = generateSigningKeypair();
const bob = generateSigningKeypair();
const [key0, key1] = [makeMeshKey(0), makeMeshKey(1)];
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const ident = (kp: SigningKeypair): Identity => ({ meshId: MESH, publicKey: kp.publicKey, secretKey: kp.secretKey, memberPubkey: kp.publicKey, memberSecretKey: kp.secretKey, ownerPubkey: owner.publicKey });

/** What the broker pushes for a message the owner sealed to `to`. */
function push(from: MeshSession, to: string, body: string, kind: "text" | "keys" = "text"): MessagePushFrame {
  const sealed = from.seal(to, body, kind);
  return {
    type: "message", messageId: `msg-${sealed.clientMessageId}`, meshId: MESH, kind: to.startsWith("#") ? "topic" : "direct",
    from: { memberId: "member-owner-1", memberPubkey: owner.publicKey, pubkey: owner.publicKey, name: "owner" }, to, priority: "next",
    clientMessageId: sealed.clientMessageId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, createdAt: Date.now(),
  };
}

test("a message under a key epoch not learnt yet waits for the owner's keys, then is shown", () => {
  const configDir = scratchDir("cm-link-");
  dirs.push(configDir);
  const entry: MeshEntry = { meshId: MESH, slug: "team", name: "Team", brokerUrl: "http://127.0.0.1:9", memberId: "member-bob-01", displayName: "bob", role: "member", ownerPubkey: owner.publicKey, publicKey: bob.publicKey, secretKey: bob.secretKey, meshKeys: [key0], joinedAt: 0 };
  saveConfig(configDir, { version: 1, meshes: [entry] } as never);
  const shown: string[] = [];
  const link = new MeshLink(entry, { configDir, claudeSessionId: "sess-link-1", label: "app", cwd: "/", hostname: "h", log: jsonLog("warn", () => {}), onMessage: (m) => shown.push(m.body) });
  const ownerSession = new MeshSession(ident(owner), [key0, key1]); // rotated to epoch 1
  // A push as the link's client hands it over (MeshLink's onMessage: its Incoming).
  const onPush = (m: MessagePushFrame) => (link as unknown as { incoming: { receive(m: MessagePushFrame): void } }).incoming.receive(m);

  onPush(push(ownerSession, "#general", "posted under epoch 1"));
  expect(link.peek()).toEqual([]); // not readable yet
  onPush(push(ownerSession, bob.publicKey, keysBody([key0, key1]), "keys"));
  expect(link.peek().map((m) => m.body)).toEqual(["posted under epoch 1"]);
  expect(shown).toEqual(["posted under epoch 1"]);
  link.client.close();
});

test("a fetch the tool stopped waiting for (the link dropped) still hands its messages to the session when it answers", async () => {
  const configDir = scratchDir("cm-link-");
  dirs.push(configDir);
  const entry: MeshEntry = { meshId: MESH, slug: "team", name: "Team", brokerUrl: "http://127.0.0.1:9", memberId: "member-bob-01", displayName: "bob", role: "member", ownerPubkey: owner.publicKey, publicKey: bob.publicKey, secretKey: bob.secretKey, meshKeys: [key0], joinedAt: 0 };
  saveConfig(configDir, { version: 1, meshes: [entry] } as never);
  const link = new MeshLink(entry, { configDir, claudeSessionId: "sess-link-2", label: "app", cwd: "/", hostname: "h", log: jsonLog("warn", () => {}), onMessage: () => {} });
  const ownerSession = new MeshSession(ident(owner), [key0]);
  // The client's fetch: asked again on the next connection after a drop, answered only then.
  const answer = Promise.withResolvers<{ messages: MessagePushFrame[]; remaining: number }>();
  (link.client as unknown as { request: (type: string) => Promise<unknown> }).request = () => answer.promise;
  link.state = "open";
  const pulled = link.pull(10);
  link.state = "reconnecting";
  (link as unknown as { reads: { left(): void } }).reads.left();
  expect(await pulled).toBe(0); // the tool answers at once
  answer.resolve({ messages: [push(ownerSession, bob.publicKey, "claimed by the re-sent fetch")], remaining: 0 });
  await Bun.sleep(0);
  expect(link.peek().map((m) => m.body)).toEqual(["claimed by the re-sent fetch"]);
  link.client.close();
});
