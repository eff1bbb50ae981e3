// A broker out of file descriptors keeps serving the connections it has and says so
// (src/broker/fd-watch.ts, idle-collect.ts, timers.ts guarded; docs/operations.md "Open files").
// Pinned: `serve` under `ulimit -n 128`, more plain TCP connections than it has descriptors (they
// never send a byte, so no per-address cap applies), idle past the idle collector's tick: it
// used to die there (exit 1, a raw SystemError from reading its memory); now it stays up, its
// existing peers still talk, and one JSON warning names the limit and the fix.
import { expect, test } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import { join } from "node:path";
import { FD_CHECK_MS, FD_FIX } from "../../src/broker/fd-watch.ts";
import { IDLE_TICK_MS } from "../../src/broker/idle-collect.ts";
import { tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { serveProcess } from "../helpers/process.ts";
import { until } from "../helpers/until.ts";

const LIMIT = 128;
const MAIN = join(import.meta.dir, "../../src/main.ts");
const WARNING = /^\{.*"msg":"(out of file descriptors|open file descriptors near the limit)[^"]*".*$/m;

test.skipIf(process.platform !== "linux")("out of descriptors: the broker stays up, serves its peers and logs one JSON warning", async () => {
  await using serve = serveProcess(["--port", "0", "--data-dir", tempDir("cm-fds-")], {
    command: ["sh", "-c", `ulimit -n ${LIMIT}; exec "$0" "$@"`, process.execPath, "run", MAIN],
    env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" },
  });
  const [, url] = await serve.waitFor(/"msg":"broker listening","url":"([^"]+)"/);
  const { owner } = await createTestMesh(url!);
  const bob = await addMember(url!, owner, "bob");
  const a = await connect(url!, owner);
  const b = await connect(url!, bob);
  const port = Number(new URL(url!).port);
  const flood: Socket[] = Array.from({ length: LIMIT + 72 }, () => tcpConnect({ port, host: "127.0.0.1" }).on("error", () => {}));
  try {
    const [line] = await serve.waitFor(WARNING, FD_CHECK_MS + 10_000);
    await Bun.sleep(1.5 * IDLE_TICK_MS); // idle at the limit past a tick of the idle collector
    expect(serve.proc.exitCode).toBeNull();
    await sendText(a, bob.keys.publicKey, "still here");
    expect((await b.waitMessages(1)).length).toBe(1);
    const warning = JSON.parse(line);
    expect({ level: warning.level, limit: warning.limit, fix: warning.fix }).toEqual({ level: "warn", limit: LIMIT, fix: FD_FIX });
  } finally {
    for (const s of flood) s.destroy();
  }
  await until(async () => (await fetch(`${url}/health`).catch(() => null))?.status === 200, "/health once the flood is gone");
  a.close();
  b.close();
  serve.proc.kill("SIGTERM");
  expect(await serve.proc.exited).toBe(0);
  await serve.ended;
  // Logs only: no raw stack trace of an exception that escaped.
  expect(serve.stderr().split("\n").filter((l) => !l.startsWith("{") && /Error|^\s+at /.test(l))).toEqual([]);
});
