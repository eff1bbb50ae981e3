// A topic_history page is about a frame's worth of bytes (docs/protocol.md §4.3.15), as a fetch
// page is (§4.3.5). Before, a page was `limit` posts whatever their size: 500 posts of 60 KiB made
// one answer of ~30 MB, and a member's sockets that asked for such pages and read nothing made the
// broker hold one each (40 sockets: the broker's RSS went from 141 MB to 1.2 GB; the per-address
// connection limit allows 1,024), where security.md says a client that does not read holds ~2 MiB.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { randomId } from "../../src/crypto/hash.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { helloCanonical } from "../../src/protocol/canonical.ts";
import { MAX_FRAME_BYTES } from "../../src/protocol/limits.ts";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh, type TestPeer } from "../helpers/mesh.ts";
import { tcpWebSocket } from "../helpers/raw.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { until } from "../helpers/until.ts";

/** Posts `n` messages of `size` base64 characters each to #general. */
async function post(peer: TestPeer, n: number, size: number): Promise<void> {
  const ciphertext = randomBytes((size / 4) * 3).toString("base64");
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => peer.client.request("send", { to: "#general", clientMessageId: randomId(), nonce: randomBytes(24).toString("base64"), ciphertext })));
  }
}

test("a page stops at the post that brings it to a frame's worth, at least one; reading on from its last offset reaches every post", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  await post(o, 12, 40_000);
  const pages: number[] = [];
  for (let after = 0; ; ) {
    const page = await o.client.request("topic_history", { topic: "general", afterOffset: after, limit: 500 });
    if (page.messages.length === 0) break;
    pages.push(page.messages.length);
    after = page.messages.at(-1)!.topicOffset!;
  }
  // 40,000 characters, then 80,000 ≥ 65,536: two a page.
  expect(pages).toEqual([2, 2, 2, 2, 2, 2]);
  // Small posts: the whole limit fits.
  await post(o, 30, 100);
  expect((await o.client.request("topic_history", { topic: "general", afterOffset: 12, limit: 500 })).messages.length).toBe(30);
  o.close();
}, 60_000);

test("a connection that asks for history and reads nothing makes the broker hold about 2 MiB, not the pages it asked for", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  await post(o, 300, 40_000); // 12 MB of history
  const s = await tcpWebSocket(b.port);
  const ts = Date.now();
  s.sendText(JSON.stringify({ type: "hello", meshId: owner.meshId, memberId: owner.memberId, pubkey: owner.keys.publicKey, sessionId: randomId(), pid: 1, cwd: "/", timestamp: ts, signature: signDetached(helloCanonical(owner.meshId, owner.memberId, owner.keys.publicKey, ts), owner.keys.secretKey), receive: "pull", events: [] }));
  await s.until(() => s.frames.length > 0, 5000, "hello_ack");
  s.sock.pause(); // reads nothing from here on
  for (let k = 0; k < 400; k++) s.sendText(JSON.stringify({ type: "topic_history", id: String(k), topic: "general", afterOffset: k % 290, limit: 500 }));
  const conn = () => [...b.ctx.hub.allConns()].find((c) => c.id !== o.ack.presenceId && c.identity?.pubkey === owner.keys.publicKey);
  // The broker stops reading it once 2 MiB wait unsent (Conn.congested), after the answer that crossed it.
  await until(() => conn()?.readingIsPaused === true, "the broker to stop reading the socket");
  expect(conn()!.transport.buffered()).toBeLessThan(2 * 1024 * 1024 + 2 * MAX_FRAME_BYTES);
  s.sock.destroy();
  o.close();
}, 60_000);

test("`claudemesh topic history` still shows the latest posts it is asked for when they take several pages", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  for (let i = 1; i <= 5; i++) ok(await cli(alice, ["topic", "post", "general", "-"], { stdin: `post ${i} ${"x".repeat(30_000)}` }));
  const r = ok(await cli(bob, ["topic", "history", "general", "--limit", "3", "--json"]));
  expect(r.json().messages.map((m: { message: { topicOffset: number; body: string } }) => [m.message.topicOffset, m.message.body.slice(0, 6)])).toEqual([
    [3, "post 3"],
    [4, "post 4"],
    [5, "post 5"],
  ]);
}, 90_000);
