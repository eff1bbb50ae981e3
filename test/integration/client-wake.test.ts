// The client after its process did not run for a while (docs/protocol.md §10 "Waking",
// src/client/wake.ts), against a real broker through a TCP proxy. A laptop's suspend is simulated
// the way the client sees it on Linux: the wall clock (this process's Date, stepped) runs ahead of
// the monotonic clock, which stood still. The broker runs in this process on the same stepped
// clock, as it would on a host whose clock agrees with the laptop's.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { stateWatch } from "../helpers/state-watch.ts";
import { steppableWallClock } from "../helpers/wall-clock.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { WAKE_CHECK_MS, WAKE_PONG_TIMEOUT_MS } from "../../src/client/wake.ts";

const ASLEEP_MS = 10 * 60_000;
/** From the wake to the client's verdict on a dead link: the next check, then the probe's deadline,
 *  then slack for a loaded host. Without wake detection it took up to ~50 s (PING_IDLE_MS + PONG_TIMEOUT_MS). */
const NOTICE_MS = WAKE_CHECK_MS + WAKE_PONG_TIMEOUT_MS + 2_000;

/** A WebSocket pong from the broker (unmasked, FIN + opcode 0xA) at the start of a chunk. */
const isPong = (d: Uint8Array) => d[0] === 0x8a;

describe("client after a wake", () => {
  test("a link that died while asleep is given up within seconds of waking, not ~50 s, and the client reconnects", async () => {
    using clock = steppableWallClock();
    // The broker pings rarely: what is tested is the client finding out, not the broker's 4100.
    await using b = await startBroker({ pingInterval: 60_000 });
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    // Default liveness timings: only the wake can make the client ask this early.
    const a = await connect(proxy.url, owner, {}, { random: () => 0, onState: w.onState });
    proxy.freeze(); // the NAT forgot the flow, the broker reaped it: the pong never comes
    clock.step(ASLEEP_MS);
    const woke = performance.now();
    await w.until((s) => s === "reconnecting", NOTICE_MS);
    const noticedMs = performance.now() - woke;
    proxy.thaw();
    await w.until((s) => s === "open", 5_000);
    expect({ seen: w.seen, inTime: noticedMs < NOTICE_MS }).toEqual({ seen: ["open", "reconnecting:1006", "open"], inTime: true });
    expect((await a.client.request("list_peers", {})).peers.some((p) => p.memberId === owner.memberId && p.online)).toBe(true);
    a.close();
  }, 30_000);

  test("a healthy link survives a wall clock set forward: one ping, answered, and nothing else", async () => {
    using clock = steppableWallClock();
    await using b = await startBroker({ pingInterval: 60_000 });
    const { owner } = await createTestMesh(b.url);
    const pong = Promise.withResolvers<void>();
    let pongs = 0;
    using proxy = linkProxy(b.port, (d) => void (isPong(d) && (++pongs, pong.resolve())));
    const w = stateWatch();
    const a = await connect(proxy.url, owner, {}, { onState: w.onState });
    clock.step(ASLEEP_MS); // NTP, or a user setting the clock: to the watch it looks like a wake
    await pong.promise;
    // Past the probe's deadline (counted from the ping, just before its pong) and two more checks:
    // the answered probe closed nothing, and the step was reported once.
    const quiet = await w.until(() => true, WAKE_PONG_TIMEOUT_MS + 1_000).then(() => "changed", () => "quiet");
    expect({ quiet, seen: w.seen, pongs }).toEqual({ quiet: "quiet", seen: ["open"], pongs: 1 });
    expect((await a.client.request("list_peers", {})).peers.length).toBeGreaterThan(0);
    a.close();
  }, 30_000);

  test("a reconnect waiting out its backoff when the process slept is made at once on waking", async () => {
    using clock = steppableWallClock();
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    // Backoff at the top of each step: 1 s, 2 s, 4 s, then 8 s.
    const a = await connect(proxy.url, owner, {}, { random: () => 1, onState: w.onState });
    proxy.refuse(true); // the broker is out of reach: every attempt fails at once
    proxy.cut();
    for (let failures = 0; failures < 4; failures++) await w.until((s) => s === "reconnecting", 10_000);
    // Now waiting 8 s for the next attempt. The laptop sleeps and wakes with the network back.
    proxy.refuse(false);
    clock.step(ASLEEP_MS);
    await w.until((s) => s === "open", WAKE_CHECK_MS + 2_000);
    expect(w.seen).toEqual(["open", ...Array(4).fill("reconnecting:1006"), "open"]);
    a.close();
  }, 30_000);

  test("a wall clock set back does not blind the liveness watch: a link that dies then is still found", async () => {
    using clock = steppableWallClock();
    await using b = await startBroker({ pingInterval: 60_000 });
    const { owner } = await createTestMesh(b.url);
    using proxy = linkProxy(b.port);
    const w = stateWatch();
    const a = await connect(proxy.url, owner, {}, { pingIdleMs: 300, pongTimeoutMs: 1_000, random: () => 0, onState: w.onState });
    // On the wall clock the silence came out negative and the next check an hour away.
    clock.step(-3_600_000);
    proxy.freeze();
    await w.until((s) => s === "reconnecting", 5_000);
    proxy.thaw();
    await w.until((s) => s === "open", 5_000);
    expect(w.seen).toEqual(["open", "reconnecting:1006", "open"]);
    a.close();
  }, 30_000);
});
