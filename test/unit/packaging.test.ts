// What ships next to the binary: install.sh (syntax, shellcheck, the platform it picks for each
// machine), the systemd unit (hardening present, stop timeout above the drain timeout, no restart
// after the exit codes serve gives a refusal that will not fix itself, systemd-analyze verify), the
// Homebrew formula's log file (private before launchd makes it) and the Grafana dashboard (every
// broker series on a panel).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createMetrics } from "../../src/broker/metrics.ts";
import { parseDurationMs } from "../../src/config/load.ts";
import { SETTINGS } from "../../src/config/spec.ts";
import { PERMANENT_EXITS, ServeExit } from "../../src/cli/serve-problems.ts";
import { GLIBC_LDD, installShDetect, MUSL_LDD } from "../helpers/install-sh-detect.ts";

const ROOT = resolve(import.meta.dir, "../..");
const INSTALL = join(ROOT, "install.sh");
const UNIT = readFileSync(join(ROOT, "packaging/claudemesh.service"), "utf8");
const work = mkdtempSync(join(tmpdir(), "cm-pkg-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sh = (script: string, env: Record<string, string> = {}) => {
  const p = Bun.spawnSync(["sh", "-c", script], { env: { PATH: process.env.PATH!, HOME: work, ...env } });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

describe("install.sh", () => {
  test("is POSIX sh (sh -n) and its last line is the only call: main \"$@\"", () => {
    expect(sh(`sh -n ${INSTALL}`)).toEqual({ code: 0, out: "", err: "" });
    const lines = readFileSync(INSTALL, "utf8").trimEnd().split("\n");
    expect(lines.at(-1)).toBe('main "$@"');
  });

  test.skipIf(!Bun.which("shellcheck"))("passes shellcheck (apt package shellcheck)", () => {
    expect(sh(`shellcheck -s sh ${INSTALL}`)).toEqual({ code: 0, out: "", err: "" });
  });

  test("--help prints the options; an unknown option is a usage error (2)", () => {
    const help = sh(`sh ${INSTALL} --help`);
    expect(help.code).toBe(0);
    for (const flag of ["--version", "--uninstall", "--service", "--no-modify-path", "--dry-run", "CLAUDEMESH_INSTALL_DIR", "CLAUDEMESH_DOWNLOAD_URL"]) expect(help.out).toContain(flag);
    expect(sh(`sh ${INSTALL} --frobnicate`)).toMatchObject({ code: 2, err: expect.stringContaining("unknown option: --frobnicate") });
    expect(sh(`sh ${INSTALL} --version '1.0;rm -rf /'`)).toMatchObject({ code: 2, err: expect.stringContaining("not a version") });
  });

  // detect_target with uname, ldd, sysctl and the CPU flag check replaced by stubs.
  const detect = installShDetect(work);
  const [glibc, musl] = [GLIBC_LDD, MUSL_LDD];

  test.each([
    ["Linux x86_64 glibc with AVX2", { s: "Linux", m: "x86_64", ldd: glibc }, "linux-x64"],
    ["Linux x86_64 glibc without AVX2", { s: "Linux", m: "x86_64", ldd: glibc, avx2: false }, "linux-x64-baseline"],
    ["Linux amd64 musl (Alpine)", { s: "Linux", m: "amd64", ldd: musl }, "linux-x64-musl"],
    ["Linux aarch64 glibc", { s: "Linux", m: "aarch64", ldd: glibc }, "linux-arm64"],
    ["macOS Intel", { s: "Darwin", m: "x86_64", translated: "0" }, "darwin-x64"],
    ["macOS x64 shell under Rosetta", { s: "Darwin", m: "x86_64", translated: "1" }, "darwin-arm64"],
    ["macOS Apple silicon", { s: "Darwin", m: "arm64" }, "darwin-arm64"],
  ] as const)("picks the build for %s", (_name, machine, target) => {
    expect(detect(machine)).toEqual({ code: 0, out: `${target}\n`, err: "" });
  });

  test.each([
    ["FreeBSD", { s: "FreeBSD", m: "amd64" }, "no claudemesh build for FreeBSD"],
    ["Linux riscv64", { s: "Linux", m: "riscv64" }, "no claudemesh build for linux on riscv64"],
    ["Linux aarch64 musl", { s: "Linux", m: "aarch64", ldd: musl }, "no musl (Alpine) build for arm64"],
    ["Linux x86_64 musl without AVX2", { s: "Linux", m: "x86_64", ldd: musl, avx2: false }, "needs a CPU with AVX2"],
  ] as const)("refuses %s with the reason", (_name, machine, reason) => {
    const r = detect(machine);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(reason);
  });
});

describe("systemd unit", () => {
  const directive = (name: string) => [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]);

  test("hardening, state directory, restarts and limits are set", () => {
    const want: Record<string, string> = {
      ProtectSystem: "strict",
      StateDirectory: "claudemesh",
      NoNewPrivileges: "yes",
      PrivateTmp: "yes",
      ProtectHome: "yes",
      RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
      ProtectKernelTunables: "yes",
      ProtectKernelModules: "yes",
      LockPersonality: "yes",
      User: "claudemesh",
      ExecStart: "/usr/local/bin/claudemesh serve",
      LimitNOFILE: "65536",
      RestartSec: "5s",
      // A runtime failure restarts without a start limit that would leave the broker down.
      StartLimitIntervalSec: "0",
    };
    expect(Object.fromEntries(Object.keys(want).map((k) => [k, directive(k)[0]]))).toEqual(want);
    expect([directive("ExecStartPre"), directive("StartLimitBurst")]).toEqual([[], []]);
  });

  test("RestartPreventExitStatus= lists exactly the permanent exit codes: serve's, and docs/operations.md's", () => {
    // A refusal that will not fix itself stops instead of re-running (and re-checking the
    // database) every RestartSec; this holds only for the main process, so no ExecStartPre.
    const numbers = (codes: readonly number[]) => codes.toSorted((a, b) => a - b);
    const unit = numbers(directive("RestartPreventExitStatus")[0]!.split(/\s+/).map(Number));
    const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const at = doc.indexOf("\n## Exit codes\n");
    const rows = [...doc.slice(at, doc.indexOf("\n## ", at + 1)).matchAll(/^\| (\d+) \|.*\| (yes|no) \|$/gm)].map((m) => ({ code: Number(m[1]), restarted: m[2] === "yes" }));
    expect({
      unit,
      doc: numbers(rows.filter((r) => !r.restarted && r.code !== 0).map((r) => r.code)),
      documented: numbers(rows.map((r) => r.code)),
    }).toEqual({ unit: numbers(PERMANENT_EXITS), doc: numbers(PERMANENT_EXITS), documented: numbers([0, ...Object.values(ServeExit)]) });
    expect(directive("Restart")).toEqual(["on-failure"]);
  });

  test("a broker ended by SIGHUP before it could handle it is restarted (RestartForceExitStatus=SIGHUP)", async () => {
    // The first milliseconds of the process (Bun starting, before serve sets its handler) a
    // `systemctl reload` right after a start ends it by the signal, which Restart=on-failure
    // counts as a clean exit: the broker stayed down. Once serve runs, SIGHUP never ends it.
    const serve = Bun.spawn([process.execPath, "run", join(ROOT, "src/main.ts"), "serve", "--port", "0", "--data-dir", join(work, "hup-data")], { stdout: "ignore", stderr: "ignore" });
    serve.kill("SIGHUP");
    await serve.exited;
    expect({ signal: serve.signalCode, forced: directive("RestartForceExitStatus") }).toEqual({ signal: "SIGHUP", forced: ["SIGHUP"] });
  });

  test("the settings its header suggests are docs/operations.md's: the broker on 127.0.0.1 behind the proxy, never 0.0.0.0", () => {
    // It suggested CLAUDEMESH_HOST=0.0.0.0, which puts the broker past the proxy and its TLS.
    const suggested = [...UNIT.matchAll(/^#\s+(CLAUDEMESH_[A-Z_]+=\S+)$/gm)].map((m) => m[1]!);
    const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const unitSection = doc.slice(doc.indexOf("The unit ([packaging/claudemesh.service]"), doc.indexOf("\n## ", doc.indexOf("The unit ([packaging/claudemesh.service]")));
    const documented = [...unitSection.matchAll(/`(CLAUDEMESH_[A-Z_]+=[^`]+)`/g)].map((m) => m[1]!);
    expect({ notInDoc: suggested.filter((s) => !documented.includes(s)), host: suggested.filter((s) => s.startsWith("CLAUDEMESH_HOST=")) }).toEqual({ notInDoc: [], host: ["CLAUDEMESH_HOST=127.0.0.1"] });
  });

  test("MemoryDenyWriteExecute stays out (Bun's JIT), with the reason in a comment", () => {
    expect(directive("MemoryDenyWriteExecute")).toEqual([]);
    expect(UNIT).toMatch(/^# - MemoryDenyWriteExecute=yes: Bun's JavaScriptCore JIT/m);
  });

  test("systemd waits longer than the broker's drain timeout before SIGKILL", () => {
    const drain = SETTINGS.find((s) => s.key === "drainTimeout")!.default as number;
    const stop = parseDurationMs(directive("TimeoutStopSec")[0]!)!;
    expect(stop).toBeGreaterThan(drain + 5000);
  });

  test.skipIf(!Bun.which("systemd-analyze"))("systemd-analyze verify accepts it", () => {
    // verify checks that ExecStart exists; point it at a real executable.
    const file = join(work, "claudemesh.service");
    writeFileSync(file, UNIT.replaceAll("/usr/local/bin/claudemesh", process.execPath));
    const r = Bun.spawnSync(["systemd-analyze", "verify", file]);
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
  });
});

describe("Homebrew formula", () => {
  // Its post_install under a stand-in for the Homebrew DSL (Formula includes FileUtils; `var` is
  // the prefix's var/). launchd would create the log 0644 and print the operator token in it.
  const HARNESS = `
require "fileutils"
require "pathname"
class Formula
  include FileUtils
  def self.method_missing(*) = nil
  def self.respond_to_missing?(*) = true
  def self.test(*) = nil
  def var = Pathname.new(ENV.fetch("FORMULA_VAR"))
end
load ARGV.fetch(0)
Claudemesh.new.post_install
`;
  test.skipIf(!Bun.which("ruby"))("post_install makes the service's log private, and a log an older install left 0644 too", () => {
    writeFileSync(join(work, "post-install.rb"), HARNESS);
    const postInstall = (varDir: string) => {
      const r = Bun.spawnSync(["sh", "-c", `umask 022 && ruby ${join(work, "post-install.rb")} ${join(ROOT, "Formula/claudemesh.rb")}`], { env: { PATH: process.env.PATH!, FORMULA_VAR: varDir } });
      const log = join(varDir, "log/claudemesh.log");
      return { code: r.exitCode, err: r.stderr.toString(), mode: (statSync(log).mode & 0o777).toString(8), text: readFileSync(log, "utf8") };
    };
    const fresh = join(work, "var-fresh");
    expect(postInstall(fresh)).toEqual({ code: 0, err: "", mode: "600", text: "" });
    const older = join(work, "var-older");
    mkdirSync(join(older, "log"), { recursive: true });
    writeFileSync(join(older, "log/claudemesh.log"), "earlier lines\n", { mode: 0o644 });
    expect(postInstall(older)).toEqual({ code: 0, err: "", mode: "600", text: "earlier lines\n" });
  });
});

describe("Grafana dashboard", () => {
  const dash = JSON.parse(readFileSync(join(ROOT, "packaging/grafana/claudemesh.json"), "utf8"));
  const panels: { type: string; title: string; targets?: { expr: string; datasource: { uid: string } }[] }[] = dash.panels;
  const exprs = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);

  test("schema 39 with a Prometheus data-source variable that every query uses", () => {
    expect(dash.schemaVersion).toBe(39);
    expect(dash.templating.list.find((v: { name: string }) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(panels.flatMap((p) => p.targets ?? []).every((t) => t.datasource.uid === "${datasource}")).toBe(true);
    expect(new Set(panels.map((p) => p.title)).size).toBe(panels.length);
  });

  test("every broker_* series the broker registers appears in a panel", async () => {
    const names = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    // A histogram is queried by its series (`_bucket`, `_sum`, `_count`).
    expect(names.filter((n) => !exprs.some((e) => new RegExp(`\\b${n}(_bucket|_sum|_count)?\\b`).test(e)))).toEqual([]);
  });

  test("every labelled broker series is split by its labels on a panel", async () => {
    const { registry } = createMetrics({ defaultMetrics: false });
    const labelled = (await registry.getMetricsAsJSON())
      .map((m) => ({ name: m.name, labels: (registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames }))
      .filter((m) => m.labels.length > 0);
    expect(labelled.length).toBeGreaterThan(5);
    const split = (n: string, labels: string[]) => exprs.some((e) => new RegExp(`\\b${n}\\b`).test(e) && e.includes(`by (${labels.join(", ")})`));
    expect(labelled.filter((m) => !split(m.name, m.labels)).map((m) => `${m.name}{${m.labels.join(",")}}`)).toEqual([]);
  });

  test("every series a panel queries exists (process CPU and memory included)", async () => {
    const metrics = await createMetrics({ defaultMetrics: true }).registry.getMetricsAsJSON();
    const all = new Set(metrics.flatMap((m) => (String(m.type) === "histogram" ? ["_bucket", "_sum", "_count"].map((s) => `${m.name}${s}`) : [m.name])));
    const used = new Set(exprs.flatMap((e) => e.match(/\bbroker_[a-z0-9_]+/g) ?? []));
    expect([...used].filter((n) => !all.has(n))).toEqual([]);
    for (const n of ["broker_process_cpu_seconds_total", "broker_process_resident_memory_bytes"]) expect(used.has(n)).toBe(true);
  });
});
