// A topic_history page carries at most about 1 MiB of ciphertext (docs/protocol.md §4.3.15,
// TOPIC_PAGE_BYTES). Before, a page was `limit` posts whatever their size: 500 posts of 60 KiB made
// one answer of ~30 MB, and a member's sockets that asked for such pages and read nothing made the
// broker hold one each (40 sockets: the broker's RSS went from 141 MB to 1.2 GB; the per-address
// connection limit allows 1,024), where security.md says a client that does not read holds ~2 MiB.
// A cap of one frame (64 KiB) cut an older CLI's single page of 50 posts of 2 KB to 25.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { randomId } from "../../src/crypto/hash.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { helloCanonical } from "../../src/protocol/canonical.ts";
import { TOPIC_PAGE_BYTES } from "../../src/protocol/limits.ts";
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

test("a page stops at the post that brings it to 1 MiB, at least one; reading on from its last offset reaches every post", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const o = await connect(b.url, owner, { receive: "pull" });
  await post(o, 60, 40_000);
  const pages: number[] = [];
  for (let after = 0; ; ) {
    const page = await o.client.request("topic_history", { topic: "general", afterOffset: after, limit: 500 });
    if (page.messages.length === 0) break;
    pages.push(page.messages.length);
    after = page.messages.at(-1)!.topicOffset!;
  }
  // 27 × 40,000 = 1,080,000 ≥ 1,048,576: 27 a page.
  expect(pages).toEqual([27, 27, 6]);
  // A CLI from before the cap asks once for its --limit (50 by default) and shows that page: 50
  // posts of a 2 KB message each fit, as they did before it.
  await post(o, 50, 2_700);
  expect((await o.client.request("topic_history", { topic: "general", afterOffset: 60, limit: 50 })).messages.length).toBe(50);
  o.close();
}, 60_000);

test("a connection that asks for history and reads nothing makes the broker hold about 3 MiB, not the pages it asked for", async () => {
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
  expect(conn()!.transport.buffered()).toBeLessThan(2 * 1024 * 1024 + TOPIC_PAGE_BYTES + 64 * 1024);
  s.sock.destroy();
  o.close();
}, 60_000);

test("`claudemesh topic history` still shows the latest posts it is asked for when they take several pages", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  // 21 posts of ~59,000 characters of ciphertext each: a page holds 18 (the one that passes 1 MiB
  // included), so the latest 19 take two.
  for (let i = 1; i <= 21; i++) ok(await cli(alice, ["topic", "post", "general", "-"], { stdin: `post ${String(i).padStart(2, "0")} ${"x".repeat(44_000)}` }));
  const r = ok(await cli(bob, ["topic", "history", "general", "--limit", "19", "--json"]));
  expect(r.json().messages.map((m: { message: { topicOffset: number; body: string } }) => [m.message.topicOffset, m.message.body.slice(0, 7)])).toEqual(
    Array.from({ length: 19 }, (_, k) => [k + 3, `post ${String(k + 3).padStart(2, "0")}`]),
  );
}, 90_000);
