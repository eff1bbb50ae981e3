// The client library over a link that fails without a close (docs/protocol.md §2.8, §5.3, §10):
// a TCP proxy between client and a real broker black-holes the bytes, as a NAT timeout, a laptop
// sleep or a Wi-Fi change does, or cuts the link.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { addMember, connect, createTestMesh, envelope, sendText, textOf, type TestMember } from "../helpers/mesh.ts";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { stateWatch } from "../helpers/state-watch.ts";

const sessionOf = (m: TestMember, owner: TestMember) =>
  new MeshSession({ meshId: m.meshId, publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, memberPubkey: m.keys.publicKey, memberSecretKey: m.keys.secretKey, ownerPubkey: owner.keys.publicKey }, []);

describe("client over a failing link", () => {
  test("a link that goes silent without a close is noticed by the client's own pings, and it reconnects", async () => {
    // The broker pings rarely and presence grace is long: what is tested is the client finding
    // out by itself, not the broker's 4100 (whose close frame could not arrive anyway).
    await using b = await startBroker({ pingInterval: 60_000 });
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    // The pong timeout leaves room for a loaded host's event loop; the test waits for it once.
    const a = await connect(proxy.url, owner, {}, { pingIdleMs: 200, pongTimeoutMs: 1000, random: () => 0, onState: w.onState });
    // Idle but alive: the client's pings are answered (pongs count as life), nothing changes.
    const quiet = await w.until(() => true, 1500).then(() => "changed", () => "quiet");
    expect({ quiet, seen: w.seen }).toEqual({ quiet: "quiet", seen: ["open"] });

    proxy.freeze();
    await w.until((s) => s === "reconnecting", 5000);
    proxy.thaw();
    await w.until((s) => s === "open", 5000);
    expect(w.seen).toEqual(["open", "reconnecting:1006", "open"]);
    expect((await a.client.request("list_peers", {})).peers.some((p) => p.memberId === owner.memberId && p.online)).toBe(true);
    a.close();
  }, 15_000);

  test("a send whose result was lost fails with its clientMessageId, and a retry with it is shown once", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const alice = sessionOf(owner, owner);
    const bobs = sessionOf(bob, owner);
    const rb = await connect(b.url, bob);
    using proxy = linkProxy(b.port);
    const a = await connect(proxy.url, owner, {}, { requestTimeoutMs: 800 });
    await alice.vouchFor(a.client, bob.keys.publicKey); // the lookup a CLI or MCP send does first
    proxy.freezeDown(); // the broker commits the send; its result never comes back
    const err = await alice.send(a.client, bob.keys.publicKey, "deploy v2 now").catch((e) => e);
    proxy.thaw();
    expect({ code: err.code, clientMessageId: typeof err.clientMessageId }).toEqual({ code: "timeout", clientMessageId: "string" });
    const retry = await alice.send(a.client, bob.keys.publicKey, "deploy v2 now", { clientMessageId: err.clientMessageId });
    expect(retry.duplicate).toBe(true);
    // The marker goes after the retry in bob's mailbox: once it is there, so is any duplicate.
    await sendText(a, bob.keys.publicKey, "marker");
    const pushes = await rb.waitMessages(2);
    expect(pushes.map((m) => (m.ciphertext === Buffer.from("marker").toString("base64") ? textOf(m) : bobs.open(m).ok))).toEqual([true, "marker"]);
    a.close();
    rb.close();
  }, 15_000);

  test("sends re-queued at a drop count toward the queue bound, and none is lost", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const rb = await connect(b.url, bob);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    const a = await connect(proxy.url, owner, {}, { maxQueued: 2, random: () => 0, onState: w.onState });
    proxy.freeze();
    const sends = [0, 1, 2].map((i) => a.client.request("send", { to: bob.keys.publicKey, clientMessageId: `cm_bound_${i}`, ...envelope(`m${i}`) }).then((r) => r.duplicate, (e) => e.code));
    // Two sends awaiting a reply fill the bound: the third is refused at once, not accepted and
    // then carried past the bound into the queue when the link drops.
    expect(await Promise.race([sends[2], Bun.sleep(200).then(() => "accepted")])).toBe("unavailable");
    proxy.cut();
    proxy.thaw();
    await w.until((s) => s === "open", 5000);
    expect(await Promise.all(sends)).toEqual([false, false, "unavailable"]);
    expect((await rb.waitMessages(2)).map(textOf)).toEqual(["m0", "m1"]);
    a.close();
    rb.close();
  }, 15_000);

  test("a read or an ack in flight when the link drops is sent again after the reconnect; a change fails saying it may have happened", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    const a = await connect(proxy.url, owner, {}, { random: () => 0, onState: w.onState });
    proxy.freeze();
    const peers = a.client.request("list_peers", {});
    const ack = a.client.request("ack", { messageIds: ["msg_none_0001"] }); // acking again does nothing more
    const status = a.client.request("set_status", { status: "working" }).catch((e) => e);
    proxy.cut();
    proxy.thaw();
    await w.until((s) => s === "open", 5000);
    expect((await peers).peers.length).toBeGreaterThan(0);
    expect(await ack).toEqual({ acked: 0 });
    const err = await status;
    expect({ code: err.code, message: err.message }).toEqual({
      code: "unavailable",
      message: "Setting your status failed: the connection to the broker closed before it answered: it may or may not have taken effect. Check before trying again.",
    });
    a.close();
  }, 15_000);

  test("without a reconnect, a read in flight says nothing was changed", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const a = await connect(proxy.url, owner, {}, { reconnect: false });
    proxy.freeze();
    const peers = a.client.request("list_peers", {}).catch((e) => e);
    proxy.cut();
    const err = await peers;
    expect({ code: err.code, message: err.message }).toEqual({
      code: "unavailable",
      message: "Listing peers failed: the connection to the broker closed before it answered. Nothing was changed; try again.",
    });
  }, 15_000);
});
