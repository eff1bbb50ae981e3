// BrokerClient's own life cycle against a real broker: connect() called twice, after close() or
// while reconnecting, and a client that reached its end leaving no timer behind to keep its
// process alive.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { until } from "../helpers/until.ts";

const CHILD = resolve(import.meta.dir, "../fixtures/client-exit.ts");

/** Runs the fixture; returns its output lines and how long it lived after its client closed. */
async function exitAfterClose(args: string[]): Promise<{ lines: string[]; exitCode: number | null; lingeredMs: number }> {
  const proc = Bun.spawn(["bun", CHILD, ...args], { stdout: "pipe", stderr: "inherit" });
  // Before the fix the process lived on for the 20 s request timeout or the backoff: kill it.
  const killer = setTimeout(() => proc.kill("SIGKILL"), 8000);
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  clearTimeout(killer);
  const lines = out.trim().split("\n");
  const exit = /^exit (\d+)$/.exec(lines.at(-1) ?? "");
  return { lines, exitCode: proc.exitCode, lingeredMs: exit ? Number(exit[1]) : Infinity };
}

describe("client life cycle", () => {
  test("a request queued while the broker refuses the hello for good keeps no timer alive", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const r = await exitAfterClose(["refused", b.url, owner.meshId]);
    expect({ lines: r.lines.slice(0, 2), exitCode: r.exitCode }).toEqual({ lines: ["closed", "closed"], exitCode: 0 });
    expect(r.lingeredMs).toBeLessThan(1000);
  }, 15_000);

  test("close() from an onState('reconnecting') callback arms no reconnect timer", async () => {
    await using b = await startBroker();
    await b.stop(); // nothing listens on its port now
    const r = await exitAfterClose(["close-in-callback", b.url]);
    expect({ lines: r.lines.slice(0, 1), exitCode: r.exitCode }).toEqual({ lines: ["closed"], exitCode: 0 });
    expect(r.lingeredMs).toBeLessThan(1000);
  }, 15_000);

  test("connect() on a closed client rejects at once", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    a.close();
    const again = a.client.connect().then(() => "resolved", (e) => ({ code: e.code, message: e.message }));
    expect(await Promise.race([again, Bun.sleep(2000).then(() => "pending")])).toEqual({ code: "unavailable", message: expect.stringContaining("closed") });
  });

  test("connect() on a connected client is a no-op: one socket, one presence, gone at close()", async () => {
    await using b = await startBroker({ presenceGrace: 100 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    expect(await a.client.connect()).toBe(a.ack);
    const pb = await connect(b.url, bob);
    await a.waitEvent((e) => e.event === "peer_joined");
    a.close();
    // A second socket left open would keep the owner online: no peer_left would ever come.
    await pb.waitEvent((e) => e.event === "peer_left" && e.data.memberId === owner.memberId, 3000);
    expect(a.events.filter((e) => e.event === "peer_joined").length).toBe(1);
    pb.close();
  });

  /** The owner connected through a proxy that has just cut the link: the client is reconnecting,
   *  after a backoff of 1 s (`random` pinned to its top). */
  async function reconnecting() {
    const b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const proxy = linkProxy(Number(new URL(b.url).port));
    const a = await connect(proxy.url, owner, {}, { random: () => 1 });
    proxy.cut();
    await until(() => a.client.state === "reconnecting", "the client to see the cut");
    return { a, async [Symbol.asyncDispose]() { a.close(); proxy[Symbol.dispose](); await b[Symbol.asyncDispose](); } };
  }

  test("connect() while reconnecting resolves with the next hello_ack, on a live link", async () => {
    await using s = await reconnecting();
    // It used to resolve at once with the old hello_ack: a request made then waited for the
    // reconnect and, with a short timeout, failed.
    const ack = await s.a.client.connect();
    expect(s.a.client.state).toBe("open");
    expect(ack).not.toBe(s.a.ack);
    expect(ack).toBe(s.a.client.ack!);
    expect((await s.a.client.request("list_peers", {}, 1000)).peers.length).toBeGreaterThan(0);
  }, 15_000);

  test("connect() while reconnecting rejects if the client is closed instead", async () => {
    await using s = await reconnecting();
    const waiting = s.a.client.connect().then(() => "resolved", (e) => ({ code: e.code, message: e.message }));
    s.a.client.close();
    expect(await waiting).toEqual({ code: "unavailable", message: expect.stringContaining("closed") });
  }, 15_000);
});
