// The release as a user gets it, for the tests of install.sh and of the binary it installs:
// `bun run release` builds into a temp directory, a local HTTP server serves those directories
// the way GitHub serves release assets (every request recorded), and install.sh runs against it
// with a fresh HOME. Each test file makes its own (files may run in separate processes).
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./broker.ts";
import { fileServer } from "./file-server.ts";
import { nativeTarget } from "../../scripts/release.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const INSTALL = join(ROOT, "install.sh");

/** Per-test limit: a test writes, downloads, hashes and runs ~100 MB binaries, and on a loaded
 * shared host one such step alone has taken over 30 s. */
export const SLOW = 180_000;

export type Run = { code: number; out: string; err: string; requests: string[] };
export type Home = { home: string; dir: string };

export const versionOf = (bin: string) => Bun.spawnSync([bin, "--version"]).stdout.toString().trim();
export const listing = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);

/** A release directory per version under a temp `work` dir, served once `serve` is called. */
export function releaseFixture() {
  const work = tempDir("cm-install-");
  const rel = (v: string) => join(work, "rel", `v${v}`);
  const native = nativeTarget()!;
  const routes = new Map<string, string>();
  const requests: string[] = [];
  /** Temporary directories of the file, removed by cleanup(). */
  const scratch: string[] = [];
  let server: ReturnType<typeof Bun.serve> | null = null;

  const fx = {
    work,
    rel,
    native,
    routes,
    requests,
    scratch,
    /** The asset install.sh downloads here (set by serve()). */
    asset: `claudemesh-${native.name}`,
    get url() {
      return server!.url;
    },

    /** `bun run release` of `version` for `targets`; its --json summary. */
    async build(version: string, targets: string, env: Record<string, string> = {}) {
      const p = Bun.spawn(["bun", "run", join(ROOT, "scripts/release.ts"), "--version", version, "--targets", targets, "--out", rel(version), "--no-formula", "--json"], {
        cwd: ROOT,
        env: { ...(process.env as Record<string, string>), ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`release ${version} exited ${code}:\n${out}\n${err}`);
      return JSON.parse(out);
    },

    /** Serves the built `versions` (`/rel/v<version>/…`, and `latest` as `/rel/latest/…`). */
    serve(versions: string[], latest: string) {
      // install.sh picks the build by CPU features; where it would pick another x64 variant than
      // the native build (no AVX2 here), serve the native build under that name.
      const body = join(work, "install-body.sh");
      writeFileSync(body, readFileSync(INSTALL, "utf8").trimEnd().split("\n").slice(0, -1).join("\n") + "\n");
      const detected = Bun.spawnSync(["sh", "-c", `. ${body}; detect_target`]).stdout.toString().trim();
      if (detected && detected !== native.name) {
        for (const v of versions) {
          copyFileSync(join(rel(v), fx.asset), join(rel(v), `claudemesh-${detected}`));
          const sums = readFileSync(join(rel(v), "SHA256SUMS"), "utf8");
          writeFileSync(join(rel(v), "SHA256SUMS"), sums + sums.split("\n").find((l) => l.endsWith(`  ${fx.asset}`))!.replace(fx.asset, `claudemesh-${detected}`) + "\n");
        }
        fx.asset = `claudemesh-${detected}`;
      }
      const serveDir = (prefix: string, dir: string) => {
        for (const f of readdirSync(dir)) routes.set(`${prefix}/${f}`, join(dir, f));
      };
      for (const v of versions) serveDir(`/rel/v${v}`, rel(v));
      serveDir("/rel/latest", rel(latest));
      server = fileServer(requests, (path) => routes.get(path));
    },

    freshHome(): Home {
      const home = tempDir("cm-install-home-");
      scratch.push(home);
      return { home, dir: join(home, "bin") };
    },

    /** install.sh (from the file, from stdin, or as `argv0` says) against the served releases. */
    async installer(args: string[], env: Record<string, string>, opts: { stdin?: string | Uint8Array; root?: string; argv0?: string[] } = {}): Promise<Run> {
      requests.length = 0;
      const p = Bun.spawn(opts.argv0 ?? (opts.stdin !== undefined ? ["sh", "-s", "--", ...args] : ["sh", INSTALL, ...args]), {
        env: { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", SHELL: "/bin/bash", CLAUDEMESH_DOWNLOAD_URL: `${server!.url}${opts.root ?? "rel"}`, ...env },
        stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
        stdout: "pipe",
        stderr: "pipe",
        timeout: SLOW - 30_000,
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, out, err, requests: [...requests] };
    },

    run: (home: Home, args: string[] = [], env: Record<string, string> = {}, opts = {}) => fx.installer(args, { HOME: home.home, CLAUDEMESH_INSTALL_DIR: home.dir, ...env }, opts),

    cleanup() {
      server?.stop(true);
      rmSync(work, { recursive: true, force: true });
      // Each home holds an installed binary (~100 MB): leaving them filled /tmp by gigabytes.
      for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    },
  };
  return fx;
}
