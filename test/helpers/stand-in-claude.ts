// A stand-in for the Claude Code process that runs the hooks: a process that is not a shell (so
// the hook takes it for its Claude Code, process-tree.ts hookHostPid) and starts each hook through
// `/bin/sh -c`, as Claude Code does, then reports how it ended. Killing it (SIGKILL) leaves its
// hooks orphaned, as a killed Claude Code does (and 2.1.197 at /exit or a closed terminal).
import { MAIN } from "./cli.ts";
import { hookInput } from "./mcp.ts";

export type StandInHook = { pid: number; ended: Promise<{ code: number; stderr: string }> };

export type StandInClaude = {
  pid: number;
  /** Starts `claudemesh hook <event>` for session `sessionId`, as an interactive session's hook. */
  hook(event: string, sessionId: string): Promise<StandInHook>;
  [Symbol.asyncDispose](): Promise<void>;
};

// Reads hook requests (JSON lines) on stdin; prints {started} and {ended} lines.
const SCRIPT = `
const decoder = new TextDecoder();
let buf = "";
for await (const chunk of Bun.stdin.stream()) {
  buf += decoder.decode(chunk);
  for (let nl = buf.indexOf("\\n"); nl >= 0; nl = buf.indexOf("\\n")) {
    const { id, command, input } = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    const h = Bun.spawn(["/bin/sh", "-c", command], { env: { ...process.env, CLAUDE_CODE_ENTRYPOINT: "cli" }, stdin: new TextEncoder().encode(input), stdout: "ignore", stderr: "pipe" });
    console.log(JSON.stringify({ id, started: h.pid }));
    Promise.all([h.exited, new Response(h.stderr).text()]).then(([code, stderr]) => console.log(JSON.stringify({ id, code, stderr })));
  }
}`;

/** Starts a stand-in Claude Code whose hooks use config directory `configDir`. */
export function standInClaude(configDir: string): StandInClaude {
  const proc = Bun.spawn([process.execPath, "-e", SCRIPT], { env: { ...process.env, CLAUDEMESH_CONFIG_DIR: configDir }, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const waiting = new Map<number, { started(pid: number): void; ended(r: { code: number; stderr: string }): void }>();
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk);
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if ("started" in line) waiting.get(line.id)?.started(line.started);
        else waiting.get(line.id)?.ended({ code: line.code, stderr: line.stderr });
      }
    }
  })();
  let ids = 0;
  return {
    pid: proc.pid,
    hook(event, sessionId) {
      const id = ++ids;
      const started = Promise.withResolvers<number>();
      const ended = Promise.withResolvers<{ code: number; stderr: string }>();
      waiting.set(id, { started: started.resolve, ended: ended.resolve });
      // `exec`: the hook replaces the shell, so the pid reported is the hook's own.
      proc.stdin.write(JSON.stringify({ id, command: `exec ${process.execPath} run ${MAIN} hook ${event}`, input: hookInput(sessionId, "Stop") }) + "\n");
      proc.stdin.flush();
      return started.promise.then((pid) => ({ pid, ended: ended.promise }));
    },
    async [Symbol.asyncDispose]() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
