// A process that joins a TLS broker's port after it started (SO_REUSEPORT, which the broker's
// listeners set for the renewal's second listener: src/broker/listener.ts) takes a share of its new
// connections. The broker looks again every PORT_CHECK_MS and at each SIGHUP (src/broker/
// port-watch.ts): an error line with the fix and `broker_port_sharers` while it is there, an info
// line and 0 once it is gone. A real `serve` with a throwaway CA, and another process of the same
// user listening on the same address and port. Session 36 (docs/decisions.md, "SIGHUP, the config
// and the port's other listeners").
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { PORT_CHECK_MS } from "../../src/broker/port-watch.ts";
import { tlsBroker, type TlsBroker } from "../helpers/tls-broker.ts";
import { until } from "../helpers/until.ts";

/** Another process listening on `port` of `hostname` with SO_REUSEPORT (plain HTTP, as anything
 *  may), once it listens. */
async function joiner(port: number, hostname = "127.0.0.1") {
  const script = `Bun.serve({ hostname: ${JSON.stringify(hostname)}, port: ${port}, reusePort: true, fetch: () => new Response("not the broker") }); console.log("listening");`;
  const p = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  await p.stdout.getReader().read();
  return { pid: p.pid, async [Symbol.asyncDispose]() { p.kill("SIGKILL"); await p.exited; } };
}

/** broker_port_sharers as /metrics says it, asked over 127.0.0.1, where the broker listens. A
 *  connection may reach the other process, whose plain HTTP fails the TLS handshake: asked again
 *  until the broker answers, up to `tries` times. */
async function sharersMetric(b: TlsBroker, tries = 50): Promise<number> {
  const ca = readFileSync(b.caFile, "utf8");
  for (let i = 1; ; i++) {
    try {
      const text = await (await fetch(`https://127.0.0.1:${b.port}/metrics`, { tls: { ca } } as RequestInit)).text();
      return Number(/^broker_port_sharers (\d+)$/m.exec(text)?.[1]);
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}

const sharing = (b: TlsBroker) => b.logs().filter((l) => l.level === "error" && String(l.msg).startsWith(`another process listens on port ${b.port} beside this broker`));
const gone = (b: TlsBroker) => b.logs().filter((l) => l.msg === `the other listeners on port ${b.port} are gone: every new connection reaches this broker again`);

test("a process that joins the port after the start is reported within PORT_CHECK_MS, and at once on SIGHUP; its leaving too", async () => {
  await using b = await tlsBroker(["--host", "127.0.0.1"]);
  expect(await sharersMetric(b)).toBe(0);
  {
    await using other = await joiner(b.port);
    await until(() => sharing(b).length === 1, "the periodic look", PORT_CHECK_MS + 5_000);
    expect(sharing(b)[0]).toMatchObject({ port: b.port, sharers: 1, fix: expect.stringContaining(`ss -ltnp 'sport = :${b.port}'`) });
    expect(await sharersMetric(b)).toBe(1);
    void other;
  }
  await until(() => gone(b).length === 1, "the periodic look after it left", PORT_CHECK_MS + 5_000);
  expect(await sharersMetric(b)).toBe(0);
  // A SIGHUP looks at once, before its summary line.
  await using again = await joiner(b.port);
  void again;
  const before = b.logs().length;
  b.serve.proc.kill("SIGHUP");
  await until(() => b.logs().slice(before).some((l) => String(l.msg).startsWith("SIGHUP: ")), "the SIGHUP's line");
  const after = b.logs().slice(before).map((l) => String(l.msg));
  const [looked, summary] = [after.findIndex((m) => m.startsWith(`another process listens on port ${b.port}`)), after.findIndex((m) => m.startsWith("SIGHUP: "))];
  expect({ looked: looked >= 0, beforeSummary: looked < summary }).toEqual({ looked: true, beforeSummary: true });
}, 90_000);

test("listeners on a wildcard beside a broker on 127.0.0.1 take none of its connections, and are not reported", async () => {
  await using b = await tlsBroker(["--host", "127.0.0.1"]);
  await using v4 = await joiner(b.port, "0.0.0.0");
  await using v6 = await joiner(b.port, "::");
  void [v4, v6];
  const before = b.logs().length;
  b.serve.proc.kill("SIGHUP");
  await until(() => b.logs().slice(before).some((l) => String(l.msg).startsWith("SIGHUP: ")), "the SIGHUP's line");
  expect(b.logs().slice(before).filter((l) => l.level === "error")).toEqual([]);
  // Every connection to 127.0.0.1 reaches the broker: none fails its handshake on the others.
  for (let i = 0; i < 20; i++) expect(await sharersMetric(b, 1)).toBe(0);
}, 60_000);
