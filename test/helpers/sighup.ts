// A real `serve --config FILE` on port 0, and SIGHUP sent to it with the JSON lines it logged in
// answer: what the SIGHUP tests share (serve-sighup*.test.ts).
import { writeFileSync } from "node:fs";
import { serveProcess, type ServeProcess } from "./process.ts";
import { until } from "./until.ts";

export const LISTENING = /"msg":"broker listening","url":"https?:\/\/127\.0\.0\.1:(\d+)"/;

export type Logged = Record<string, any>;

/** Every JSON line `s` wrote to stderr so far. */
export const logs = (s: ServeProcess): Logged[] => s.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));

/** The line every SIGHUP ends with (`SIGHUP: …`). */
export const summary = (l: Logged) => typeof l.msg === "string" && l.msg.startsWith("SIGHUP: ");

/** Sends SIGHUP and resolves with the lines logged after it once one matches `done`. */
export async function hangup(s: ServeProcess, done: (l: Logged) => boolean = summary): Promise<Logged[]> {
  const before = logs(s).length;
  s.proc.kill("SIGHUP");
  await until(() => logs(s).slice(before).some(done), "the SIGHUP's log line");
  return logs(s).slice(before);
}

export type Served = { s: ServeProcess; port: number; url: string; [Symbol.asyncDispose](): Promise<void> };

/** `serve` with `args` (a `--config`, most often), once listening; its logLevel is the file's or
 *  info (CLAUDEMESH_LOG_LEVEL cleared), `env` added. */
export async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const s = serveProcess(args, { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "", ...env } });
  const port = Number((await s.waitFor(LISTENING).catch(async (err) => (await s[Symbol.asyncDispose](), Promise.reject(err))))[1]);
  return { s, port, url: `http://127.0.0.1:${port}`, [Symbol.asyncDispose]: s[Symbol.asyncDispose] };
}

/** A config file at `file` whose settings `edit` rewrites; `hup` writes them and sends SIGHUP. */
export function configFile(file: string, settings: Record<string, unknown>) {
  let now: Record<string, unknown | undefined> = { ...settings };
  const write = () => writeFileSync(file, JSON.stringify(now));
  write();
  return {
    file,
    /** Writes the file with `change` over the settings it holds (undefined removes a key). */
    edit(change: Record<string, unknown>) {
      now = { ...now, ...change };
      write();
    },
    /** Writes `text` as the file as is (not JSON, or a bad value). */
    writeRaw: (text: string) => writeFileSync(file, text),
    /** The file as `edit` last wrote it, written again (after writeRaw). */
    restore: write,
  };
}
