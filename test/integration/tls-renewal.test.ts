// What a broker serving TLS itself does around the second listener a renewal opens (src/broker/
// listener.ts, docs/operations.md "TLS without a proxy"): the connections the kernel queued for
// the old listener while the broker was busy are served, not reset; renewals one inside another's
// handover, then a stop, leave no listener and no socket; a second broker started in the same
// instant on the same port (SO_REUSEPORT would let both listen) refuses to start. The Listener with
// real Bun TLS servers and a throwaway CA; `serve` as a real process. Session 35 (docs/decisions.md,
// "review of the native TLS and broker-move merges").
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { Server } from "bun";
import { Listener, HANDOVER_MS } from "../../src/broker/listener.ts";
import { readTlsFiles, type TlsMaterial } from "../../src/config/tls-files.ts";
import { cli, cliStream, ok } from "../helpers/cli.ts";
import { serveProcess } from "../helpers/process.ts";
import { freePort } from "../helpers/real-proxy.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeChainCa } from "../helpers/tls-ca.ts";
import { servedSerial, serialOf, tlsBroker, tlsPair } from "../helpers/tls-broker.ts";
import { until } from "../helpers/until.ts";

const root = tempDir("cm-tls-renewal-");
const ca = makeChainCa(root);
const caPem = readFileSync(ca.caFile, "utf8");
const material = (name: string): TlsMaterial => {
  const pair = ca.issue(name);
  return readTlsFiles(pair.certFile, pair.keyFile);
};

/** A Listener on 127.0.0.1 whose servers answer "ok" and upgrade /ws; `closes` collects the close
 *  codes its WebSockets saw. */
function listen(tls: TlsMaterial) {
  const closes: number[] = [];
  const listener = new Listener<undefined>(
    (o) =>
      Bun.serve<undefined>({
        hostname: "127.0.0.1",
        ...o,
        fetch: (req, srv: Server<undefined>) => (new URL(req.url).pathname === "/ws" && srv.upgrade(req, { data: undefined }) ? undefined : new Response("ok")),
        websocket: { message() {}, close: (_ws, code) => void closes.push(code) },
      }),
    0,
    tls,
  );
  return { listener, closes };
}

/** How a TLS connection to `port` ended: "served" once its handshake completed, else its error code. */
const handshake = (port: number) =>
  new Promise<string>((resolve) => {
    const s = tlsConnect({ port, host: "127.0.0.1", servername: "localhost", ca: caPem }, () => (resolve("served"), s.end()));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

describe("a renewal's second listener", () => {
  test("connections the kernel queued for the old listener while the broker was busy are served, not reset", async () => {
    const { listener } = listen(material("queued-a"));
    try {
      const ended = Array.from({ length: 10 }, () => handshake(listener.port));
      await Bun.sleep(0); // the connects are under way
      // The broker busy (reading the new files, opening the new server): the kernel completes the
      // TCP handshakes and queues them on the only listener there is.
      const busyUntil = performance.now() + 100;
      while (performance.now() < busyUntil) {}
      listener.renew(material("queued-b"));
      expect(await Promise.all(ended)).toEqual(Array(10).fill("served"));
    } finally {
      listener.stop(true);
    }
  });

  test("renewals one inside another's handover, then a stop: every WebSocket closed with 1001, no listener left", async () => {
    const { listener, closes } = listen(material("quick-a"));
    const port = listener.port;
    const opened: WebSocket[] = [];
    const openOne = async () => {
      const ws = new WebSocket(`wss://localhost:${port}/ws`, { tls: { ca: caPem } } as never);
      await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
      opened.push(ws);
    };
    await openOne();
    listener.renew(material("quick-b"));
    await openOne();
    listener.renew(material("quick-c")); // the first handover has not ended yet
    await openOne();
    listener.stop(false);
    listener.stop(true);
    await until(() => closes.length === 3, "every WebSocket closed");
    expect(closes).toEqual([1001, 1001, 1001]);
    await Bun.sleep(HANDOVER_MS * 2); // a handover timer that outlived the stop would act now
    // Nothing listens any more: a plain bind of the port (no SO_REUSEPORT) is not refused.
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
  });
});

describe("serve with TLS and SO_REUSEPORT", () => {
  test("two brokers started at once on one port: one serves, the other refuses as the port is in use (exit 1)", async () => {
    const pair = ca.issue("twice");
    for (let round = 0; round < 2; round++) {
      const port = await freePort();
      const start = (n: number) => serveProcess(["--port", String(port), "--data-dir", join(root, `twice-${round}-${n}`), "--tls-cert", pair.certFile, "--tls-key", pair.keyFile], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
      await using a = start(1);
      await using b = start(2);
      const outcome = await Promise.all(
        [a, b].map((s) =>
          s.waitFor(/"msg":"broker listening"/).then(
            () => "listening",
            async () => (await s.ended, `exit ${s.proc.exitCode}: ${s.stderr().split("\n").find((l) => l.startsWith("claudemesh serve:"))}`),
          ),
        ),
      );
      expect(outcome.filter((o) => o === "listening").length).toBeLessThanOrEqual(1);
      for (const o of outcome) if (o !== "listening") expect(o).toBe(`exit 1: claudemesh serve: cannot start: port ${port} on 127.0.0.1 is already in use by another process; stop it, or choose another port with --port`);
    }
  }, 60_000);
});

test("50 renewals leave no descriptor behind; SIGTERM after them closes the connections of every generation and exits 0", async () => {
  await using b = await tlsBroker();
  await using team = await tlsPair(b, "renewed");
  const { alice, bob, env } = team;
  const descriptors = () => readdirSync(`/proc/${b.serve.proc.pid}/fd`).length;
  await using first = cliStream(bob, ["inbox", "--follow"], { env }); // on the first listener
  await until(() => first.stderr().includes("Following"), "the first follower");
  const before = descriptors();
  const pairs = [b.ca.issue("even"), b.ca.issue("odd")];
  for (let i = 0; i < 50; i++) {
    b.point(pairs[i % 2]!);
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().filter((l) => l.msg === "TLS certificate reloaded").length === i + 1, `renewal ${i + 1}`);
    expect(await servedSerial(b)).toBe(serialOf(join(b.root, `${i % 2 ? "odd" : "even"}.leaf.pem`)));
  }
  await Bun.sleep(HANDOVER_MS * 3);
  expect(descriptors()).toBe(before);
  await using last = cliStream(alice, ["inbox", "--follow"], { env }); // on the 51st
  await until(() => last.stderr().includes("Following"), "the last follower");
  ok(await cli(alice, ["send", "bob", "through fifty renewals", "--json"], { env }), "send");
  expect((await first.lines(1))[0]).toContain("through fifty renewals");
  b.serve.proc.kill("SIGTERM");
  await b.serve.ended;
  expect({ code: b.serve.proc.exitCode, stopped: b.logs().at(-1)?.msg }).toEqual({ code: 0, stopped: "broker stopped" });
  for (const f of [first, last]) await until(() => f.stderr().includes("Lost the connection"), "each follower told the broker went away");
}, 120_000);
