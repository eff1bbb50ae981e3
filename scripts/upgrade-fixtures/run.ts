// Process helpers for scripts/make-upgrade-fixtures.ts: one checkout's `serve` and CLI as
// subprocesses (`bun run <checkout>/src/main.ts …`), each member with its own HOME and
// CLAUDEMESH_CONFIG_DIR, so that what lands on disk is what that version itself wrote.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export type Run = { code: number; stdout: string; stderr: string };

/** The environment every subprocess gets: no developer settings leak in, no colours, no TTY. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "TMPDIR", "LANG"]) if (process.env[k]) env[k] = process.env[k]!;
  return { ...env, CI: "1", NO_COLOR: "1", ...extra };
}

/** A member of the scenario: a name, a HOME and a config dir under `root`. */
export type Member = { name: string; home: string; configDir: string };

export function member(root: string, name: string): Member {
  const home = join(root, "homes", name);
  const configDir = join(root, "members", name);
  mkdirSync(home, { recursive: true });
  return { name, home, configDir };
}

/** Runs `claudemesh <args>` from `checkout` as `who`; throws with its output unless the exit code
 *  is one of `okCodes` (default 0). */
export async function cm(checkout: string, who: Member, args: string[], okCodes: number[] = [0]): Promise<Run> {
  const proc = Bun.spawn([process.execPath, "run", join(checkout, "src/main.ts"), ...args], {
    cwd: checkout,
    env: baseEnv({ HOME: who.home, CLAUDEMESH_CONFIG_DIR: who.configDir }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (!okCodes.includes(code)) throw new Error(`${who.name}: claudemesh ${args.join(" ")} exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
  return { code, stdout, stderr };
}

/** Like `cm` with --json, returning the parsed stdout. */
export async function cmJson(checkout: string, who: Member, args: string[]): Promise<any> {
  const r = await cm(checkout, who, [...args, "--json"]);
  return JSON.parse(r.stdout);
}

export type Serve = { url: string; stop(): Promise<{ code: number; stderr: string }>; stderr(): string };

/** Starts `claudemesh serve` from `checkout` on port 0 with `dataDir`, waits for "broker
 *  listening"; `stop()` sends SIGTERM (the clean shutdown an operator's restart does). */
export async function serve(checkout: string, dataDir: string, env: Record<string, string> = {}): Promise<Serve> {
  const proc = Bun.spawn([process.execPath, "run", join(checkout, "src/main.ts"), "serve", "--port", "0", "--data-dir", dataDir], {
    cwd: checkout,
    env: baseEnv({ HOME: join(dataDir, "..", "serve-home"), CLAUDEMESH_LOG_LEVEL: "info", ...env }),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  const read = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"msg":"broker listening","url":"([^"]+)"/.exec(text);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited ${proc.exitCode} before listening:\n${text}`));
      }
    }, 50);
  });
  return {
    url,
    stderr: () => text,
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await read;
      return { code, stderr: text };
    },
  };
}

/** Runs `claudemesh serve` from `checkout` on `dataDir` until it exits or listens (then stops it):
 *  what an operator sees when starting that binary on that directory. */
export async function serveOutcome(checkout: string, dataDir: string, extraArgs: string[] = []): Promise<{ code: number; listened: boolean; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "run", join(checkout, "src/main.ts"), "serve", "--port", "0", "--data-dir", dataDir, ...extraArgs], {
    cwd: checkout,
    env: baseEnv({ HOME: join(dataDir, "..", "serve-home"), CLAUDEMESH_LOG_LEVEL: "info" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stderr) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes('"msg":"broker listening"')) proc.kill("SIGTERM");
  }
  const stdout = await new Response(proc.stdout).text();
  return { code: await proc.exited, listened: text.includes('"msg":"broker listening"'), stderr: text + stdout };
}
