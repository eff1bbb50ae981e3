// The release as a user gets it: `bun run release` builds the native target (twice, as 1.0.0 and
// 0.9.0), a local HTTP server serves those directories the way GitHub serves release assets,
// and install.sh runs against it with a fresh HOME. Pins the installer contract (checksum before
// anything moves, fail closed, idempotent, version pin, uninstall, dry run, cut-off download runs
// nothing, never sudo) and the installed binary's serve lifecycle and first-run banner.
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { serveProcess } from "../helpers/process.ts";
import { fileServer } from "../helpers/file-server.ts";
import { nativeTarget, TARGETS } from "../../scripts/release.ts";
import { FORMULA_ASSETS, renderFormula } from "../../scripts/formula.ts";

const ROOT = resolve(import.meta.dir, "../..");
const INSTALL = join(ROOT, "install.sh");
const work = tempDir("cm-install-");
const rel = (v: string) => join(work, "rel", `v${v}`);
const native = nativeTarget()!;
let asset = `claudemesh-${native.name}`;
let releaseSummary: { built: { target: string }[]; skipped: { target: string; reason: string; runtime: string; howToSupply: string | null }[] };
const cross = TARGETS.find((t) => t !== native && t.os !== native.os)!;

// --- the release server: path → file, every request recorded ---------------------------------
const routes = new Map<string, string>();
const requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;

function serveDir(prefix: string, dir: string) {
  for (const f of readdirSync(dir)) routes.set(`${prefix}/${f}`, join(dir, f));
}

async function release(version: string, targets: string, env: Record<string, string> = {}) {
  const p = Bun.spawn(["bun", "run", join(ROOT, "scripts/release.ts"), "--version", version, "--targets", targets, "--out", rel(version), "--no-formula", "--json"], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`release ${version} exited ${code}:\n${out}\n${err}`);
  return JSON.parse(out);
}

beforeAll(async () => {
  const emptyCache = join(work, "empty-bun-cache");
  mkdirSync(emptyCache);
  // 1.0.0 also asks for a cross target with no way to get Bun's runtime for it (empty cache, a
  // proxy that refuses): it must be skipped with a message, and the native build still made.
  const offline = { BUN_INSTALL_CACHE_DIR: emptyCache, HTTPS_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9" };
  [releaseSummary] = await Promise.all([release("1.0.0", `native,${cross.name}`, offline), release("0.9.0", "native")]);

  // install.sh picks the build by CPU features; where it would pick another x64 variant than
  // the native build (no AVX2 here), serve the native build under that name.
  const body = join(work, "install-body.sh");
  writeFileSync(body, readFileSync(INSTALL, "utf8").trimEnd().split("\n").slice(0, -1).join("\n") + "\n");
  const detected = Bun.spawnSync(["sh", "-c", `. ${body}; detect_target`]).stdout.toString().trim();
  if (detected && detected !== native.name) {
    for (const v of ["1.0.0", "0.9.0"]) {
      copyFileSync(join(rel(v), asset), join(rel(v), `claudemesh-${detected}`));
      const sums = readFileSync(join(rel(v), "SHA256SUMS"), "utf8");
      writeFileSync(join(rel(v), "SHA256SUMS"), sums + sums.split("\n").find((l) => l.endsWith(`  ${asset}`))!.replace(asset, `claudemesh-${detected}`) + "\n");
    }
    asset = `claudemesh-${detected}`;
  }

  serveDir("/rel/v1.0.0", rel("1.0.0"));
  serveDir("/rel/latest", rel("1.0.0"));
  serveDir("/rel/v0.9.0", rel("0.9.0"));
  // Broken releases: a wrong hash, no entry for the asset, a download cut short.
  const sums = readFileSync(join(rel("1.0.0"), "SHA256SUMS"), "utf8");
  const bad = (name: string, text: string) => {
    mkdirSync(join(work, name), { recursive: true });
    writeFileSync(join(work, name, "SHA256SUMS"), text);
    routes.set(`/${name}/latest/SHA256SUMS`, join(work, name, "SHA256SUMS"));
    routes.set(`/${name}/latest/${asset}`, join(rel("1.0.0"), asset));
  };
  bad("tampered", sums.replace(new RegExp(`^[0-9a-f]{64}(  ${asset})$`, "m"), `${"0".repeat(64)}$1`));
  bad("nosum", sums.split("\n").filter((l) => !l.endsWith(`  ${asset}`)).join("\n"));
  bad("corrupt", sums);
  writeFileSync(join(work, "corrupt", asset), readFileSync(join(rel("1.0.0"), asset)).subarray(0, 1 << 20));
  routes.set(`/corrupt/latest/${asset}`, join(work, "corrupt", asset));

  server = fileServer(requests, (path) => routes.get(path));
}, 120_000);

afterAll(() => {
  server?.stop(true);
  rmSync(work, { recursive: true, force: true });
  // Each home holds an installed binary (~100 MB): leaving them filled /tmp by gigabytes.
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}, 120_000); // over a gigabyte to delete, on a shared disk

// --- running the installer ------------------------------------------------------------------
type Run = { code: number; out: string; err: string; requests: string[] };

/** Per-test limit: a test writes, downloads, hashes and runs ~100 MB binaries, and on a loaded
 * shared host one such step alone has taken over 30 s. */
const SLOW = 180_000;

/** Temporary directories of this file, removed after it. */
const scratch: string[] = [];

function freshHome() {
  const home = tempDir("cm-install-home-");
  scratch.push(home);
  return { home, dir: join(home, "bin") };
}

async function installer(args: string[], env: Record<string, string>, opts: { stdin?: string | Uint8Array; root?: string; argv0?: string[] } = {}): Promise<Run> {
  requests.length = 0;
  const p = Bun.spawn(opts.argv0 ?? (opts.stdin !== undefined ? ["sh", "-s", "--", ...args] : ["sh", INSTALL, ...args]), {
    env: { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", SHELL: "/bin/bash", CLAUDEMESH_DOWNLOAD_URL: `${server.url}${opts.root ?? "rel"}`, ...env },
    stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    stdout: "pipe",
    stderr: "pipe",
    timeout: SLOW - 30_000,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err, requests: [...requests] };
}

const run = (home: { home: string; dir: string }, args: string[] = [], env: Record<string, string> = {}, opts = {}) =>
  installer(args, { HOME: home.home, CLAUDEMESH_INSTALL_DIR: home.dir, ...env }, opts);

const versionOf = (bin: string) => Bun.spawnSync([bin, "--version"]).stdout.toString().trim();
const listing = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);
const MARK = "# added by the claudemesh installer";

describe("bun run release", () => {
  test("builds the native target with the version baked in, skips a target it has no runtime for, and says what to supply", () => {
    expect(releaseSummary.built.map((b) => b.target)).toEqual([native.name]);
    expect(releaseSummary.skipped).toEqual([
      {
        target: cross.name,
        reason: expect.stringContaining("could not download it"),
        runtime: expect.stringMatching(new RegExp(`^bun-${cross.os}-.*-v${Bun.version}$`)),
        howToSupply: expect.stringContaining("--runtimes <dir>"),
      },
    ]);
    expect(versionOf(join(rel("1.0.0"), `claudemesh-${native.name}`))).toBe("claudemesh 1.0.0");
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: rel("0.9.0") });
    expect(check.exitCode).toBe(0);
    expect(check.stdout.toString().trim().split("\n").sort()).toEqual([`claudemesh-${native.name}: OK`, "claudemesh.service: OK", "install.sh: OK"]);
  }, SLOW);
});

describe("install.sh", () => {
  test("fresh HOME: installs the latest release after verifying it, adds the directory to PATH once; re-runs download nothing", async () => {
    const h = freshHome();
    const first = await run(h);
    expect(first).toMatchObject({ code: 0, requests: ["/rel/latest/SHA256SUMS", `/rel/latest/${asset}`] });
    expect(first.out).toContain(`claudemesh 1.0.0 installed to ${h.dir}/claudemesh (SHA-256 matches the release's SHA256SUMS)`);
    expect(first.out).toContain("claudemesh serve");
    expect(first.out).toContain("claudemesh install");
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
    expect(listing(h.dir)).toEqual(["claudemesh"]);
    const bashrc = () => readFileSync(join(h.home, ".bashrc"), "utf8").split("\n").filter((l) => l.includes(MARK));
    expect(bashrc()).toEqual([`export PATH="${h.dir}:$PATH" ${MARK}`]);

    // Latest again: only the checksum list, to learn that the installed file is the latest.
    const again = await run(h);
    expect(again).toMatchObject({ code: 0, requests: ["/rel/latest/SHA256SUMS"] });
    expect(again.out).toContain("already the latest release");
    // A pinned version that is already installed: nothing at all.
    const pinned = await run(h, ["--version", "1.0.0"]);
    expect(pinned).toMatchObject({ code: 0, requests: [] });
    expect(pinned.out).toContain("claudemesh 1.0.0 is already installed");
    expect(bashrc().length).toBe(1);
  }, SLOW);

  test("a pinned version installs that version (CLAUDEMESH_VERSION or --version, with or without v)", async () => {
    const h = freshHome();
    const old = await run(h, ["--no-modify-path"], { CLAUDEMESH_VERSION: "0.9.0" });
    expect(old).toMatchObject({ code: 0, requests: ["/rel/v0.9.0/SHA256SUMS", `/rel/v0.9.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
    expect(existsSync(join(h.home, ".bashrc"))).toBe(false);
    const up = await run(h, ["--version", "v1.0.0", "--no-modify-path"]);
    expect(up).toMatchObject({ code: 0, requests: ["/rel/v1.0.0/SHA256SUMS", `/rel/v1.0.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
    const missing = await run(h, ["--version", "7.7.7"]);
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining("cannot download") });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
  }, SLOW);

  test.each([
    ["a tampered checksum", "tampered", "checksum mismatch"],
    ["no checksum for the asset", "nosum", "SHA256SUMS has no entry"],
    ["a download cut short", "corrupt", "checksum mismatch"],
  ])("%s fails closed: non-zero, nothing installed", async (_name, root, message) => {
    const h = freshHome();
    const r = await run(h, [], {}, { root });
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(r.out).not.toContain("installed to");
    expect(listing(h.dir)).toEqual([]);
  }, SLOW);

  test("a failed upgrade leaves the installed version in place and no staged file behind", async () => {
    const h = freshHome();
    mkdirSync(h.dir);
    copyFileSync(join(rel("0.9.0"), asset), join(h.dir, "claudemesh"));
    const r = await run(h, [], {}, { root: "tampered" });
    expect(r.code).toBe(1);
    expect(listing(h.dir)).toEqual(["claudemesh"]);
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
  }, SLOW);

  test.skipIf(!Bun.which("wget"))("downloads with wget where curl is missing", async () => {
    // A PATH with every command of the system except curl.
    const bin = tempDir("cm-no-curl-");
    scratch.push(bin);
    for (const d of ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) if (f !== "curl" && !existsSync(join(bin, f))) symlinkSync(join(d, f), join(bin, f));
    }
    const h = freshHome();
    const r = await run(h, ["--version", "0.9.0", "--no-modify-path"], { PATH: bin });
    expect(r).toMatchObject({ code: 0, requests: ["/rel/v0.9.0/SHA256SUMS", `/rel/v0.9.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
  }, SLOW);

  test("fetch uses BusyBox wget (Alpine: no curl, no --https-only) for an https URL", () => {
    // A stand-in with BusyBox's surface: its --help has no --https-only, and it refuses that option.
    const bin = tempDir("cm-busybox-");
    scratch.push(bin);
    const out = join(bin, "downloaded");
    writeFileSync(
      join(bin, "wget"),
      `#!/bin/sh\ncase " $* " in *" --help "*) echo "Usage: wget [-cqS] [-O FILE] URL"; exit 0;; *" --https-only "*) echo "wget: unrecognized option '--https-only'" >&2; exit 1;; esac\nwhile [ $# -gt 1 ]; do [ "$1" = -O ] && o=$2; shift; done\necho "body of $1" > "$o"\n`,
      { mode: 0o755 },
    );
    for (const tool of ["sh", "grep", "cat", "dirname"]) if (Bun.which(tool)) symlinkSync(Bun.which(tool)!, join(bin, tool));
    const body = join(work, "install-body.sh"); // install.sh without its `main "$@"` (beforeAll)
    const r = Bun.spawnSync(["sh", "-c", `. ${body}; fetch https://example.invalid/SHA256SUMS ${out} && cat ${out}`], { env: { PATH: bin } });
    expect({ code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }).toEqual({ code: 0, out: "body of https://example.invalid/SHA256SUMS\n", err: "" });
  });

  test("--uninstall removes the binary and the PATH line, and says so when there is nothing left", async () => {
    const h = freshHome();
    expect((await run(h)).code).toBe(0);
    const r = await run(h, ["--uninstall"]);
    expect(r).toMatchObject({ code: 0, requests: [] });
    expect(r.out).toContain(`removed ${h.dir}/claudemesh`);
    expect(listing(h.dir)).toEqual([]);
    expect(readFileSync(join(h.home, ".bashrc"), "utf8")).not.toContain(MARK);
    expect((await run(h, ["--uninstall"])).out).toContain(`no claudemesh in ${h.dir}`);
  }, SLOW);

  test("--dry-run prints the plan and changes nothing, for install and uninstall", async () => {
    const h = freshHome();
    const before = listing(h.home);
    const r = await run(h, ["--dry-run"]);
    expect(r).toMatchObject({ code: 0, requests: [] });
    expect(r.out).toContain(`would download ${server.url}rel/latest/${asset}`);
    expect(r.out).toContain(`would add to ${h.home}/.bashrc`);
    expect(listing(h.home)).toEqual(before);
    mkdirSync(h.dir);
    copyFileSync(join(rel("1.0.0"), asset), join(h.dir, "claudemesh"));
    const un = await run(h, ["--uninstall", "--dry-run"]);
    expect(un).toMatchObject({ code: 0, requests: [] });
    expect(un.out).toContain(`would remove ${h.dir}/claudemesh`);
    expect(listing(h.dir)).toEqual(["claudemesh"]);
  }, SLOW);

  test("a download of the script cut off anywhere runs nothing (head -c N install.sh | sh)", async () => {
    const text = readFileSync(INSTALL);
    const lastLine = Buffer.byteLength('main "$@"\n');
    // Every 5 % of the file, and cuts inside the last line. (Not exactly after `main` or before
    // the final newline: those are the whole script.)
    const cuts = [...Array.from({ length: 20 }, (_, i) => Math.floor((text.length * i) / 20)), text.length - lastLine, text.length - lastLine + 3, text.length - 3];
    for (const n of cuts) {
      const h = freshHome();
      const r = await installer([], { HOME: h.home, CLAUDEMESH_INSTALL_DIR: h.dir }, { argv0: ["sh"], stdin: new Uint8Array(text.subarray(0, n)) });
      expect({ n, requests: r.requests, home: listing(h.home), out: r.out }).toEqual({ n, requests: [], home: [], out: "" });
    }
  }, SLOW);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))("without HOME (env -i) it installs, then says how to add the directory to PATH instead of failing", async () => {
    // It used to install the binary and then stop with "HOME: parameter not set" (exit 2) before
    // the PATH step, leaving --service half done. Run as nobody, whose home does not exist.
    const h = freshHome();
    Bun.spawnSync(["chmod", "777", h.home]);
    const r = await installer([], { CLAUDEMESH_INSTALL_DIR: h.dir, PATH: "/usr/bin:/bin" }, {
      argv0: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s", "--"],
      stdin: readFileSync(INSTALL, "utf8"),
    });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: expect.not.stringContaining("HOME") });
    expect(r.out).toContain(`${h.dir} is not on your PATH (no writable home, so no shell profile was changed); add it: export PATH="${h.dir}:$PATH"`);
    expect(versionOf(join(h.dir, "claudemesh"))).toMatch(/^claudemesh /);
  }, SLOW);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))("an install directory it cannot write: says how to use sudo, never runs it", async () => {
    const h = freshHome();
    const shim = tempDir("cm-sudo-shim-");
    scratch.push(shim);
    const marker = join(shim, "sudo-was-called");
    writeFileSync(join(shim, "sudo"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    mkdirSync(h.dir, { mode: 0o755 }); // root's, not writable by nobody
    Bun.spawnSync(["chmod", "777", h.home]);
    const r = await installer([], { HOME: h.home, CLAUDEMESH_INSTALL_DIR: h.dir, PATH: `${shim}:/usr/bin:/bin` }, {
      argv0: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s", "--"],
      stdin: readFileSync(INSTALL, "utf8"),
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain("is not writable");
    expect(r.err).toContain("never runs sudo by itself");
    expect(r.requests).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(listing(h.dir)).toEqual([]);
  }, SLOW);
});

// --- the installed binary serving -------------------------------------------------------------
/** The installed binary's `serve` on port 0, with stderr collected (helpers/process.ts). */
const serve = (bin: string, dataDir: string, args: string[] = []) => serveProcess(["--port", "0", "--data-dir", dataDir, ...args], { command: [bin], env: { PATH: "/usr/bin:/bin", HOME: dataDir } });

describe("the installed binary", () => {
  test("--version, serve --check, then serve: banner with the operator token once, ready, PID file, SIGTERM → exit 0 within the drain timeout", async () => {
    const h = freshHome();
    expect((await run(h, ["--version", "1.0.0", "--no-modify-path"])).code).toBe(0);
    const bin = join(h.dir, "claudemesh");
    const data = join(h.home, "data");
    expect(versionOf(bin)).toBe("claudemesh 1.0.0");
    // What systemd's ExecStartPre does; the first real start still shows the token.
    const check = Bun.spawnSync([bin, "serve", "--check", "--data-dir", data]);
    expect({ code: check.exitCode, out: check.stdout.toString().trimEnd().split("\n").at(-1) }).toEqual({ code: 0, out: `configuration ok; database writable at schema version ${LATEST_VERSION}` });

    await using first = serve(bin, data, ["--drain-timeout", "2s"]);
    const [, token] = await first.waitFor(/shown once; keep it; `claudemesh admin token --data-dir \S+` issues a new one\):\n {2}(cmo_\S+)\n/);
    const url = (await first.waitFor(/"msg":"broker listening","url":"([^"]+)"/))[1]!;
    const text = first.stderr();
    expect(text.indexOf('"msg":"broker listening"')).toBeLessThan(text.indexOf("claudemesh 1.0.0 is serving"));
    for (const line of [`claudemesh 1.0.0 is serving ${url}`, `  data dir   ${data}`, `  dashboard  ${url}/`, `  API docs   ${url}/docs`, `  claudemesh new my-team --broker ${url}`]) expect(text).toContain(line);
    const pidFile = join(data, "claudemesh.pid");
    expect(readFileSync(pidFile, "utf8")).toBe(`${first.proc.pid}\n`);
    expect(statSync(pidFile).mode & 0o777).toBe(0o600);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const t0 = performance.now();
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(existsSync(pidFile)).toBe(false);

    await using second = serve(bin, data);
    await second.waitFor(/ {2}API docs {3}\S+\/docs\n/);
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
    await second.ended;
    expect(second.stderr()).toContain("claudemesh 1.0.0 is serving");
    expect(second.stderr()).not.toContain(token!);
    expect(second.stderr()).not.toContain("Operator token");
    expect(second.stderr()).toContain('"msg":"broker stopped"');
  }, SLOW);
});

// brew is not available here, so the formula's `test do` block runs under a small stand-in for
// the Homebrew DSL it uses (bin, testpath, version, shell_output, quiet_system, free_port,
// assertions), against the 1.0.0 build.
const HARNESS = `
require "pathname"
require "socket"
require "tmpdir"
class Formula
  def self.method_missing(*) = nil
  def self.respond_to_missing?(*) = true
  def self.version(v = nil) = v ? (@version = v) : @version
  def self.test(&block) = (@test = block)
  def self.test_block = @test
  def bin = Pathname.new(ENV.fetch("FORMULA_BIN"))
  def testpath = (@testpath ||= Pathname.new(Dir.mktmpdir))
  def version = self.class.version
  def shell_output(cmd, code = 0)
    out = \`#{cmd}\`
    raise "#{cmd} exited #{$?.exitstatus}" unless $?.exitstatus == code
    out
  end
  def quiet_system(*args) = system(*args, out: File::NULL, err: File::NULL)
  def free_port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
  def assert(ok, msg = "assertion failed") = (ok or raise msg)
  def assert_equal(want, got) = (want == got or raise "expected #{want.inspect}, got #{got.inspect}")
  def assert_path_exists(path) = (File.exist?(path) or raise "#{path} does not exist")
end
load ARGV.fetch(0)
Claudemesh.new.instance_exec(&Claudemesh.test_block)
puts "formula test passed"
`;

describe("Homebrew formula", () => {
  test("its test block passes against the real binary: --version, serve on free_port, /health/ready, the database file", async () => {
    const ruby = Bun.which("ruby");
    if (!ruby) throw new Error("ruby is not installed: running the formula's test block needs Debian's `ruby` package (apt-get install ruby)");
    const dir = join(work, "formula");
    mkdirSync(join(dir, "bin"), { recursive: true });
    copyFileSync(join(rel("1.0.0"), `claudemesh-${native.name}`), join(dir, "bin", "claudemesh"));
    Bun.spawnSync(["chmod", "755", join(dir, "bin", "claudemesh")]);
    const sums = new Map(Object.values(FORMULA_ASSETS).map((a) => [a, "0".repeat(64)] as [string, string]));
    writeFileSync(join(dir, "claudemesh.rb"), renderFormula({ version: "1.0.0", baseUrl: "https://example.invalid", sums }));
    writeFileSync(join(dir, "harness.rb"), HARNESS);
    const p = Bun.spawn([ruby, join(dir, "harness.rb"), join(dir, "claudemesh.rb")], { env: { PATH: process.env.PATH!, FORMULA_BIN: join(dir, "bin") }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect({ code, out, err: code === 0 ? "" : err }).toEqual({ code: 0, out: "formula test passed\n", err: "" });
  }, SLOW);
});
