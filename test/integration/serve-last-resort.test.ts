// `serve`'s last resort (src/cli/serve-last-resort.ts): an exception or a rejection that nothing
// caught is one JSON line with the error, then the broker drains as on SIGTERM and exits 70
// (docs/operations.md "Exit codes"). Bun's default was a raw stack trace and exit 1 with every
// peer dropped. The error is injected by a preload on SIGUSR2 (test/fixtures/serve-uncaught.ts).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ServeExit } from "../../src/cli/serve-problems.ts";
import { tempDir } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { serveProcess } from "../helpers/process.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const INJECT = join(import.meta.dir, "../fixtures/serve-uncaught.ts");

test.each([
  ["throw", "uncaughtException", "injected failure in a timer"],
  ["reject", "unhandledRejection", "injected rejection"],
])("%s: logged as JSON, drained, exit 70", async (inject, kind, message) => {
  await using serve = serveProcess(["--port", "0", "--data-dir", tempDir("cm-uncaught-")], {
    command: [process.execPath, "run", "--preload", INJECT, MAIN],
    env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info", INJECT_UNCAUGHT: inject },
  });
  const [, url] = await serve.waitFor(/"msg":"broker listening","url":"([^"]+)"/);
  const { owner } = await createTestMesh(url!);
  const peer = await connect(url!, owner);
  serve.proc.kill("SIGUSR2");
  expect(await serve.proc.exited).toBe(ServeExit.uncaught);
  await serve.ended;
  peer.close();
  const lines = serve.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const crash = lines.find((l) => l.level === "error");
  expect({ msg: crash.msg, kind: crash.kind, message: crash.err.message }).toEqual({ msg: "uncaught error: stopping the broker (exit 70); a restart serves again", kind, message });
  // Drained like a SIGTERM: the store closed after the sockets were told.
  expect(lines.slice(lines.indexOf(crash) + 1).map((l) => l.msg)).toEqual(["shutting down", "broker stopped"]);
  expect(serve.stderr().split("\n").filter((l) => !l.startsWith("{") && /Error|^\s+at /.test(l))).toEqual([]);
});
