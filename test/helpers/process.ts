// The broker as a real child process (the CLI's `serve`), for crash and signal tests.
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
/** `claudemesh` from source. */
const FROM_SOURCE = [process.execPath, "run", `${ROOT}/src/main.ts`];
const LISTENING = /"msg":"broker listening","url":"([^"]+)"/;

/** Whether process `pid` still runs (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type ServeProcess = {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  /** Everything `serve` wrote to stderr so far (logs and banner). */
  stderr(): string;
  /** Resolves with the match once stderr matches `re`; rejects, with stderr, if serve ends first
   *  or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves once serve exited and all of its stderr was read. */
  ended: Promise<void>;
  /** Kills serve if it still runs. */
  [Symbol.asyncDispose](): Promise<void>;
};

/** Starts `claudemesh serve <args>` (from source, or `command`) and reads its stderr as it comes.
 *  `env` is the whole environment (default: this process's). */
export function serveProcess(args: string[], opts: { command?: string[]; env?: Record<string, string | undefined>; cwd?: string } = {}): ServeProcess {
  const proc = Bun.spawn([...(opts.command ?? FROM_SOURCE), "serve", ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  let done = false;
  const waiters = new Set<() => void>();
  const ended = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      waiters.forEach((w) => w());
    }
    await proc.exited;
    done = true;
    waiters.forEach((w) => w());
  })();
  return {
    proc,
    stderr: () => text,
    ended,
    waitFor: (re, timeoutMs = 15_000) =>
      new Promise((res, rej) => {
        const settle = (f: () => void) => {
          waiters.delete(check);
          clearTimeout(timer);
          f();
        };
        const timer = setTimeout(() => settle(() => rej(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from serve:\n${text}`))), timeoutMs);
        const check = () => {
          const m = re.exec(text);
          if (m) settle(() => res(m));
          else if (done) settle(() => rej(new Error(`serve exited (${proc.exitCode}) before ${re}:\n${text}`)));
        };
        waiters.add(check);
        check();
      }),
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await ended;
    },
  };
}

export type BrokerProcess = { proc: ServeProcess["proc"]; url: string; stderr: () => string; [Symbol.asyncDispose](): Promise<void> };

/** Starts `claudemesh serve` (from source, or a compiled binary) on port 0 and waits for its URL.
 *  `env` is added to this process's environment. */
export async function spawnBroker(dataDir: string, extraArgs: string[] = [], command: string[] = FROM_SOURCE, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const serve = serveProcess(["--port", "0", "--data-dir", dataDir, ...extraArgs], { command, env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info", ...env } });
  try {
    const [, url] = await serve.waitFor(LISTENING);
    return { proc: serve.proc, url: url!, stderr: serve.stderr, [Symbol.asyncDispose]: serve[Symbol.asyncDispose] };
  } catch (err) {
    await serve[Symbol.asyncDispose]();
    throw err;
  }
}

/** Runs `serve` on `data` until it either listens (then it is stopped: "started") or exits (its
 *  code and stderr). A refusal must come as one clear line, never a stack trace. A serve that does
 *  neither within `timeoutMs` is killed, and the result says so (with its stderr so far). */
export async function serveOnce(data: string, extra: string[] = [], timeoutMs = 20_000): Promise<"started" | { code: number | string; stderr: string }> {
  await using serve = serveProcess(["--port", "0", "--data-dir", data, ...extra], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  const started = await serve.waitFor(/"msg":"broker listening"/, timeoutMs).then(
    () => true,
    () => false,
  );
  if (started) {
    serve.proc.kill("SIGTERM");
    await serve.proc.exited;
    return "started";
  }
  if (serve.proc.exitCode === null) return { code: `neither listening nor exited after ${timeoutMs} ms (killed)`, stderr: serve.stderr() };
  await serve.ended;
  return { code: serve.proc.exitCode, stderr: serve.stderr() };
}
