// The binary install.sh installs, from the release as a user gets it (test/helpers/release-fixture.ts:
// `bun run release` builds the native target as 1.0.0, served the way GitHub serves release
// assets): its serve lifecycle and first-run banner, and the Homebrew formula's test block against
// it. The installer contract itself is in install-sh.test.ts.
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serveProcess } from "../helpers/process.ts";
import { FORMULA_ASSETS, renderFormula } from "../../scripts/formula.ts";
import { releaseFixture, SLOW, versionOf } from "../helpers/release-fixture.ts";

const fx = releaseFixture();
const { work, rel, native, freshHome, run } = fx;

beforeAll(async () => {
  await fx.build("1.0.0", "native");
  fx.serve(["1.0.0"], "1.0.0");
}, 120_000);

afterAll(() => fx.cleanup(), 120_000); // each home holds a ~100 MB binary

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
