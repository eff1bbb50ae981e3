// `serve` whose stderr reader goes away (`2>&1 | head`, a log shipper restarting): the next log line
// met EPIPE, and with no listener for the stream's errors the broker exited 1 at once, without a
// drain, leaving its PID file and WAL behind (operator review, session 15). Logging must never stop
// the broker (src/log/log.ts): it keeps serving, and SIGTERM still drains and exits 0.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { MAIN } from "../helpers/cli.ts";
import { alive } from "../helpers/process.ts";

describe("serve with its stderr reader gone", () => {
  test("keeps serving (SIGHUP ignored too), then drains and exits 0 on SIGTERM", async () => {
    const data = join(tempDir("cm-stderr-gone-"), "data");
    // `head -n 1` reads the first log line (`broker listening`, with the URL) and exits: from then
    // on the broker's stderr is a pipe without a reader. pipefail: the exit code is the broker's.
    const shell = Bun.spawn(["bash", "-c", 'set -o pipefail; "$0" run "$1" serve --port 0 --data-dir "$2" 2>&1 >/dev/null | head -n 1', process.execPath, MAIN, data], { stdout: "pipe", stderr: "inherit" });
    const reader = shell.stdout.getReader();
    let first = "";
    while (!first.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`serve ended before its first log line: ${first}`);
      first += new TextDecoder().decode(value);
    }
    const url = JSON.parse(first).url as string;
    const pid = Number(readFileSync(join(data, "claudemesh.pid"), "utf8").trim().split(/\s/)[0]);
    // Each bad first frame is logged, into the pipe nobody reads.
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(url.replace("http", "ws") + "/ws");
      await new Promise((done) => ((ws.onopen = () => ws.send("not json")), (ws.onclose = done)));
      expect((await fetch(`${url}/health`)).status).toBe(200);
    }
    expect(alive(pid)).toBe(true);
    // SIGHUP (a closed terminal, a log tool's "reopen") is ignored: there is no file to reopen.
    process.kill(pid, "SIGHUP");
    await Bun.sleep(200); // proves SIGHUP does not end it: its default action would within this
    expect(alive(pid)).toBe(true);
    process.kill(pid, "SIGTERM");
    expect(await shell.exited).toBe(0);
    expect(existsSync(join(data, "claudemesh.pid"))).toBe(false); // drained, not killed mid-flight
  }, 30_000);
});
