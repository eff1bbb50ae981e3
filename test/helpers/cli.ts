// The real CLI as a subprocess: `bun run src/main.ts …` with its own CLAUDEMESH_CONFIG_DIR, CI=1
// and no terminal, so output is what a script sees. Spawned asynchronously: an in-process broker
// (test/helpers/broker.ts) keeps serving while the CLI runs.
import { startBroker } from "./broker.ts";
import { until } from "./until.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect, type TestMember } from "./mesh.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

/** Waiting on a condition, for the tests that import it from here. */
export { until };

export const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export type CliResult = { code: number; stdout: string; stderr: string; json(): any };

/** `stdin: "open"`: a pipe that is never written to nor closed (a terminal nobody types into). */
/** `command`: what runs as `claudemesh` (default: from source, here; test/helpers/netns.ts gives
 *  one that runs on another host). */
export type CliOptions = { stdin?: string | { open: true }; env?: Record<string, string>; timeoutMs?: number; command?: string[] };

export function cliEnv(configDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), CLAUDEMESH_CONFIG_DIR: configDir, CI: "1", ...extra };
  // A developer's shell must not change what the tests see.
  for (const k of ["CLAUDEMESH_DEBUG", "CLAUDEMESH_BROKER_URL", "CLAUDEMESH_MESH", "CLAUDEMESH_BROWSER"]) if (!(k in extra)) delete env[k];
  return env;
}

/** Runs one CLI command to completion (killed after timeoutMs, default 20 s). */
export async function cli(configDir: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const proc = Bun.spawn([...(opts.command ?? [process.execPath, "run", MAIN]), ...args], {
    env: cliEnv(configDir, opts.env),
    stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 20_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return resultOf(args, code, stdout, stderr);
}

function resultOf(args: string[], code: number, stdout: string, stderr: string): CliResult {
  return {
    code,
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`claudemesh ${args.join(" ")} did not print JSON (exit ${code}):\nstdout: ${stdout}\nstderr: ${stderr}`);
      }
    },
  };
}

export type CliStream = {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Resolves with the next `n` stdout lines (waits for them; rejects after timeoutMs). */
  lines(n: number, timeoutMs?: number): Promise<string[]>;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once the process exited and all its output was read. */
  finished(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Starts a long-running CLI command (e.g. `inbox --follow`) and reads its stdout line by line. */
export function cliStream(configDir: string, args: string[], opts: Omit<CliOptions, "stdin" | "timeoutMs"> = {}): CliStream {
  const proc = Bun.spawn([...(opts.command ?? [process.execPath, "run", MAIN]), ...args], { env: cliEnv(configDir, opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  let wake: () => void = () => {};
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    for await (const chunk of stream) {
      onText(decoder.decode(chunk, { stream: true }));
      wake();
    }
    wake();
  };
  const read = Promise.all([pump(proc.stdout, (t) => (out += t)), pump(proc.stderr, (t) => (err += t))]);
  let consumed = 0;
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    finished: async () => void (await Promise.all([read, proc.exited])),
    lines(n, timeoutMs = 10_000) {
      return new Promise((resolveLines, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} line(s) from claudemesh ${args.join(" ")}\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
        const check = () => {
          const all = out.split("\n");
          const complete = all.slice(0, -1);
          if (complete.length - consumed >= n) {
            clearTimeout(timer);
            wake = () => {};
            const got = complete.slice(consumed, consumed + n);
            consumed += n;
            resolveLines(got);
          } else if (proc.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`claudemesh ${args.join(" ")} exited (${proc.exitCode}) before printing ${n} line(s)\nstdout: ${out}\nstderr: ${err}`));
          }
        };
        wake = check;
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** `claudemesh dashboard …` (it serves the page until stopped) up to its printed result, then
 *  stopped with SIGTERM as Ctrl-C would stop it; or as it ended by itself (a refusal). */
export async function dashboardOnce(configDir: string, args: string[], opts: Omit<CliOptions, "stdin" | "timeoutMs"> = {}): Promise<CliResult> {
  await using s = cliStream(configDir, ["dashboard", ...args], opts);
  const shown = () => (args.includes("--json") ? parsed(s.stdout()) !== undefined : s.stdout().includes("until you press Ctrl-C.\n"));
  await until(() => s.proc.exitCode !== null || shown(), `claudemesh dashboard ${args.join(" ")} to serve or exit`, 20_000);
  s.proc.kill("SIGTERM");
  await s.finished();
  return resultOf(["dashboard", ...args], s.proc.exitCode!, s.stdout(), s.stderr());
}

/** `claudemesh dashboard --json [--no-open] …` serving: its result, until the end of the
 *  `await using` scope. */
export async function dashboardServing(configDir: string, args: string[] = ["--no-open"], opts: Omit<CliOptions, "stdin" | "timeoutMs"> = {}) {
  const s = cliStream(configDir, ["dashboard", "--json", ...args], opts);
  try {
    await until(() => s.proc.exitCode !== null || parsed(s.stdout()) !== undefined, "claudemesh dashboard to serve", 20_000);
    if (s.proc.exitCode !== null) throw new Error(`claudemesh dashboard exited (${s.proc.exitCode}):\nstdout: ${s.stdout()}\nstderr: ${s.stderr()}`);
  } catch (err) {
    await s[Symbol.asyncDispose]();
    throw err;
  }
  return { json: parsed(s.stdout()), proc: s.proc, [Symbol.asyncDispose]: () => s[Symbol.asyncDispose]() };
}

/** The JSON value `text` holds, or undefined while it is not (yet) complete. */
function parsed(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type Identities = { root: string; dirs: string[]; [Symbol.asyncDispose](): Promise<void> };

/** `n` config dirs (paths inside one temp dir, not yet created: the CLI creates them 0700),
 *  removed at the end of the `await using` scope. */
export function identities(n: number): Identities {
  const root = mkdtempSync(join(tmpdir(), "cm-cli-"));
  return {
    root,
    dirs: Array.from({ length: n }, (_, i) => join(root, `id${i}`)),
    async [Symbol.asyncDispose]() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A mesh made by `claudemesh new` in a new identity's `dir`, and its `owner` as the mesh helpers
 *  take a member (to invite many over HTTP). The directory is removed at the end of the scope. */
export async function cliOwnedMesh(brokerUrl: string) {
  const ids = identities(1);
  const dir = ids.dirs[0]!;
  ok(await cli(dir, ["new", "Big", "--broker", brokerUrl, "--display-name", "owner", "--json"]));
  const e = loadConfig(dir).meshes[0]!;
  const owner: TestMember = { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: "owner", role: "owner" };
  return { dir, owner, [Symbol.asyncDispose]: () => ids[Symbol.asyncDispose]() };
}

/** Throws (with the output) unless the command exited 0; returns its result. For setup steps. */
export function ok(r: CliResult, what = "command"): CliResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export type CliMember = { dir: string; name: string; pubkey: string; memberId: string };

/** The first [dir, name] creates mesh `meshName` on `brokerUrl`; each other one joins with its own
 *  single-use invite. Returns the slug and each member's key, by name. */
export async function cliMesh(brokerUrl: string, people: [dir: string, name: string][], meshName = "Team X"): Promise<{ slug: string; meshId: string; members: Record<string, CliMember> }> {
  const [[ownerDir, ownerName], ...rest] = people as [[string, string], ...[string, string][]];
  const created = ok(await cli(ownerDir, ["new", meshName, "--broker", brokerUrl, "--display-name", ownerName, "--json"]), "new").json();
  const members: Record<string, CliMember> = { [ownerName]: { dir: ownerDir, name: ownerName, pubkey: created.member.pubkey, memberId: created.member.id } };
  for (const [dir, name] of rest) {
    const { link } = ok(await cli(ownerDir, ["invite", "--json"]), "invite").json();
    const joined = ok(await cli(dir, ["join", link, "--name", name, "--json"]), `join ${name}`).json();
    members[name] = { dir, name, pubkey: joined.member.pubkey, memberId: joined.member.memberId };
  }
  return { slug: created.mesh.slug, meshId: created.mesh.id, members };
}

/** A real broker on port 0 and a mesh of CLI identities, one per name: the first creates the mesh,
 *  the others join it (cliMesh). `dirs` are their config dirs, in `names` order. Everything is
 *  stopped and removed at the end of the `await using` scope. */
export async function cliTeam<const N extends readonly string[]>(names: N, broker: Parameters<typeof startBroker>[0] = {}) {
  const b = await startBroker(broker);
  const ids = identities(names.length);
  const dirs = ids.dirs as { [K in keyof N]: string };
  const mesh = await cliMesh(b.url, names.map((name, i) => [ids.dirs[i]!, name] as [string, string]));
  return {
    b,
    dirs,
    mesh,
    /** A scratch directory removed with the team (beside the config dirs). */
    root: ids.root,
    async [Symbol.asyncDispose]() {
      await b[Symbol.asyncDispose]();
      await ids[Symbol.asyncDispose]();
    },
  };
}

/** A Claude Code-like session (a new session key attested by the member) of the member whose
 *  config directory is `dir`, connected to broker `url` with `cwd`. */
export async function sessionOf(url: string, dir: string, cwd: string) {
  const e = loadConfig(dir).meshes[0]!;
  const memberKeys = { publicKey: e.publicKey, secretKey: e.secretKey };
  return connect(url, { meshId: e.meshId, memberId: e.memberId, keys: memberKeys, displayName: e.displayName, role: e.role }, { cwd }, {
    credentials: { kind: "session", meshId: e.meshId, memberId: e.memberId, memberKeys, sessionKeys: generateSigningKeypair() },
  });
}

/** Rewrites the broker URL saved for every mesh of a config dir: a proxy in front of the real
 *  broker, or a URL as an older version saved it. */
export function useBroker(configDir: string, url: string): void {
  const file = join(configDir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  for (const m of cfg.meshes) m.brokerUrl = url;
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
}
