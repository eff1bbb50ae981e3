// With synchronous=full, the WAL's name in the data directory must survive a power loss as its
// bytes do: SQLite syncs the directory when it creates the WAL but ignores what that sync returns,
// so serve syncs it itself at start and refuses to serve when the disk fails it. A real process,
// a real failing syscall: strace (starting serve) fails every fsync of the data directory.
import { expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { MAIN } from "../helpers/cli.ts";
import { serveProcess } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("a failed sync of the data directory at start: serve refuses with the disk's fix, exit 1", async () => {
  const data = realpathSync(tempDir("cm-dir-sync-"));
  const strace = ["strace", "-f", "-qq", "-o", "/dev/null", "-P", data, "-e", "trace=fsync", "-e", "inject=fsync:error=EIO"];
  await using serve = serveProcess(["--port", "0", "--data-dir", data], { command: [...strace, process.execPath, "run", MAIN], env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  const outcome = await serve.waitFor(/"msg":"broker listening"/, 20_000).then(
    () => "serving",
    () => "not serving",
  );
  // strace started serve: stop serve itself, or it would outlive the test.
  if (outcome === "serving") Bun.spawnSync(["pkill", "-KILL", "-f", `data-dir ${data}`]);
  await serve.ended;
  expect({ outcome, code: serve.proc.exitCode, stderr: serve.stderr() }).toEqual({
    outcome: "not serving",
    code: 1,
    stderr: `claudemesh serve: cannot start: the disk holding ${data} reported an I/O error: check the disk (dmesg, SMART), then start again\n`,
  });
}, 30_000);
