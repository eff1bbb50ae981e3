// The next session and messages a session got live (docs/protocol.md §5.1, "The next session"):
// a member's only session that ends without acking passes them on; one with a sibling does not;
// what commits while a session's hello is under way reaches that session once; a refused hello
// gives back only what it took; nothing is given to two sessions. Real broker, real sockets.
import { describe, expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { envelope, sendText } from "../helpers/mesh.ts";
import { atPresenceWrite, connectSession, marked, newSessionGets, received, setup } from "../helpers/next-session.ts";
import { until } from "../helpers/until.ts";

describe("the next session, after a live push", () => {
  test("the member's only session, ended without acking what it was pushed, gives it to the next one", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const s1 = await connectSession(b.url, bob);
    await sendText(alice, bob.keys.publicKey, "pushed, never read");
    await received(s1, ["pushed, never read"]);
    expect(marked(b, bob)).toBe(0); // a session was connected: nothing was marked at commit
    await s1.client.request("session_end", {});
    const s2 = await newSessionGets(b.url, bob, ["pushed, never read"]);
    for (const p of [alice, s2]) p.close();
  });

  test("what the only session acked is not given to the next one", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const s1 = await connectSession(b.url, bob);
    await sendText(alice, bob.keys.publicKey, "read");
    await sendText(alice, bob.keys.publicKey, "not read");
    const [read] = await s1.waitMessages(2);
    await s1.client.request("ack", { messageIds: [read!.messageId] });
    await s1.client.request("session_end", {});
    const s2 = await newSessionGets(b.url, bob, ["not read"]);
    for (const p of [alice, s2]) p.close();
  });

  test("with a sibling session that was pushed it too, ending one session passes nothing on", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const s1 = await connectSession(b.url, bob);
    const sibling = await connectSession(b.url, bob);
    await sendText(alice, bob.keys.publicKey, "seen by both");
    await received(s1, ["seen by both"]);
    await received(sibling, ["seen by both"]);
    await s1.client.request("session_end", {});
    // The sibling may have shown it already: a third session is not given it again.
    const s3 = await newSessionGets(b.url, bob, []);
    for (const p of [alice, sibling, s3]) p.close();
  });

  test("a DM to the session's own key is its own: ending it unacked passes nothing on", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const keys = generateSigningKeypair();
    const s1 = await connectSession(b.url, bob, keys);
    await sendText(alice, keys.publicKey, "to this session alone");
    await received(s1, ["to this session alone"]);
    await s1.client.request("session_end", {});
    const s2 = await newSessionGets(b.url, bob, []);
    for (const p of [alice, s2]) p.close();
  });
});

describe("the next session, during a hello", () => {
  test("a message committed while a session's hello is under way reaches that session once, and no later one", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    // Between the hello's hand-over and its attach, a DM to bob's member key commits with no
    // session of bob connected.
    const keys = generateSigningKeypair();
    atPresenceWrite(b, keys.publicKey, async () => {
      await sendText(alice, bob.keys.publicKey, "during the hello");
      expect(marked(b, bob)).toBe(1);
    });
    const s1 = await connectSession(b.url, bob, keys);
    await received(s1, ["during the hello"]);
    expect(marked(b, bob)).toBe(0);
    const s2 = await newSessionGets(b.url, bob, []);
    for (const p of [alice, s1, s2]) p.close();
  });

  test("a refused second hello of a running session takes nothing from the running connection", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const keys = generateSigningKeypair();
    const running = await connectSession(b.url, bob, keys);
    await running.client.request("set_status", { status: "working" });
    await sendText(alice, bob.keys.publicKey, "held while working", { priority: "next" }); // held, unclaimed
    // A second hello with the same key (a client that took its link for dead), refused after its
    // hand-over: the removal check before the attach, recorded by hand so bob stays enrolled.
    atPresenceWrite(b, keys.publicKey, () => b.ctx.hub.markRemoved(bob.meshId, bob.memberId, Date.now()));
    await expect(connectSession(b.url, bob, keys)).rejects.toMatchObject({ code: "revoked" });
    b.ctx.hub.unmarkRemoved(bob.meshId, bob.memberId);
    await Bun.sleep(100); // the give-back, had it anything to give, would be written by now
    expect(marked(b, bob)).toBe(0);
    await running.client.request("set_status", { status: "idle" });
    await received(running, ["held while working"]);
    for (const p of [alice, running]) p.close();
  });
});

describe("the next session, never twice", () => {
  test("an offline session that also got a message marked for the next session does not pass it on again when ended", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const keys = generateSigningKeypair();
    (await connectSession(b.url, bob, keys)).close();
    await until(() => b.ctx.hub.get(bob.meshId, keys.publicKey) === undefined, "the session's presence gone");
    await sendText(alice, bob.keys.publicKey, "while away"); // queued for the offline session, and marked
    const next = await newSessionGets(b.url, bob, ["while away"]);
    next.close();
    // The offline session retired (as the hello that makes room for a new one does).
    await b.ctx.store.endSession(bob.meshId, keys.publicKey, Date.now());
    expect(marked(b, bob)).toBe(0);
    const later = await newSessionGets(b.url, bob, []);
    for (const p of [alice, later]) p.close();
  });

  test("the member's own broadcast, from one session, is not handed back when the other ends", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const other = await connectSession(b.url, bob);
    const sender = await connectSession(b.url, bob);
    await sendText(sender, "*", "bob's own broadcast");
    await alice.waitMessages(1);
    await received(other, ["bob's own broadcast"]);
    await other.client.request("session_end", {});
    expect(marked(b, bob)).toBe(0);
    const later = await newSessionGets(b.url, bob, []);
    for (const p of [alice, sender, later]) p.close();
  });

  test("the member's own session's broadcast is not marked for the next session, though that session closed before it committed", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    for (let i = 0; i < 3; i++) {
      const sender = await connectSession(b.url, bob);
      const sent = sender.client.request("send", { to: "*", clientMessageId: randomId(), ...envelope(`broadcast ${i}`) }).catch(() => {});
      sender.close(); // gone before the group commit's turn
      await sent;
      await alice.waitMessages(i + 1);
      await until(() => !b.ctx.hub.hasSession(bob.meshId, bob.memberId), "the sender's presence gone");
      expect(marked(b, bob)).toBe(0);
    }
    const next = await newSessionGets(b.url, bob, []);
    for (const p of [alice, next]) p.close();
  });

  test("an ack without an id just before session_end counts: what the session acked is not given back", async () => {
    const { b, bob, alice } = await setup();
    await using _ = b;
    const s1 = await connectSession(b.url, bob);
    await sendText(alice, bob.keys.publicKey, "seen and acked");
    const [m] = await s1.waitMessages(1);
    s1.client.ackMessages([m!.messageId]); // as the MCP server acks: no id, lingering for company
    await Promise.resolve(); // the ack frame goes out before session_end, on the same socket
    await s1.client.request("session_end", {});
    expect(marked(b, bob)).toBe(0);
    const s2 = await newSessionGets(b.url, bob, []);
    for (const p of [alice, s2]) p.close();
  });
});
