// The next session and messages a session got live (docs/protocol.md §5.1, "The next session"):
// a member's only session that ends without acking passes them on; one with a sibling does not;
// and what commits while a session's hello is under way reaches that session once. Real broker,
// real sockets.
import { describe, expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { Store } from "../../src/store/types.ts";
import { sendText } from "../helpers/mesh.ts";
import { connectSession, marked, newSessionGets, received, setup } from "../helpers/next-session.ts";

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
    // Holds the hello between its hand-over and its attach (at its presence write), while a DM to
    // bob's member key commits with no session of bob connected.
    const keys = generateSigningKeypair();
    const store = b.ctx.store as Store;
    const setPresence = store.setPresence.bind(store);
    const atGate = Promise.withResolvers<void>();
    const gate = Promise.withResolvers<void>();
    store.setPresence = async (meshId, pubkey, p) => {
      if (pubkey === keys.publicKey) {
        atGate.resolve();
        await gate.promise;
      }
      return setPresence(meshId, pubkey, p);
    };
    const hello = connectSession(b.url, bob, keys);
    await atGate.promise;
    await sendText(alice, bob.keys.publicKey, "during the hello");
    expect(marked(b, bob)).toBe(1);
    gate.resolve();
    const s1 = await hello;
    await received(s1, ["during the hello"]);
    expect(marked(b, bob)).toBe(0);
    const s2 = await newSessionGets(b.url, bob, []);
    for (const p of [alice, s1, s2]) p.close();
  });
});
