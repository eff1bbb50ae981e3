// `claudemesh upgrade` must download what install.sh would install (src/cli/upgrade/
// release-layout.ts): the same target for every machine, the same release directories, the same
// SHA256SUMS. install.sh is POSIX sh and cannot import the TypeScript, so each case here runs
// both: detect_target with uname, ldd, sysctl and the CPU flag check stubbed (as packaging.test.ts
// does), and releaseTarget on the same machine. Also the systemd note's reading of the unit.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GITHUB_RELEASES, releaseDir, releaseTarget, SUMS_FILE, type Platform } from "../../src/cli/upgrade/release-layout.ts";
import { serviceNote } from "../../src/cli/upgrade/notes.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { INSTALL_SH, installShDetect, MUSL_LDD } from "../helpers/install-sh-detect.ts";

const SCRIPT = readFileSync(INSTALL_SH, "utf8");
const detect = installShDetect(tempDir("cm-upgrade-layout-"));
type Machine = { s: string; m: string; musl?: boolean; avx2?: boolean; rosetta?: boolean };

/** install.sh's answer: the target, or its error line. */
function installSh(m: Machine): string {
  const r = detect({ s: m.s, m: m.m, ...(m.musl ? { ldd: MUSL_LDD } : {}), ...(m.avx2 === false ? { avx2: false } : {}), translated: m.rosetta ? "1" : "0" });
  return r.code === 0 ? r.out.trim() : r.err.replace(/^claudemesh install: error: /, "").trim();
}

/** The same machine as process.platform and process.arch name it. */
const platform = (m: Machine): Platform => ({
  os: { Linux: "linux", Darwin: "darwin", FreeBSD: "freebsd" }[m.s]!,
  arch: { x86_64: "x64", amd64: "x64", aarch64: "arm64", arm64: "arm64", riscv64: "riscv64" }[m.m]!,
  musl: Boolean(m.musl),
  avx2: m.avx2 !== false,
  rosetta: Boolean(m.rosetta),
});

describe("the binary picks install.sh's asset", () => {
  test.each([
    ["Linux x86_64 glibc with AVX2", { s: "Linux", m: "x86_64" }],
    ["Linux x86_64 glibc without AVX2", { s: "Linux", m: "x86_64", avx2: false }],
    ["Linux amd64 musl", { s: "Linux", m: "amd64", musl: true }],
    ["Linux aarch64 glibc", { s: "Linux", m: "aarch64" }],
    ["macOS Intel", { s: "Darwin", m: "x86_64" }],
    ["macOS x64 under Rosetta", { s: "Darwin", m: "x86_64", rosetta: true }],
    ["macOS Apple silicon", { s: "Darwin", m: "arm64" }],
    ["FreeBSD", { s: "FreeBSD", m: "amd64" }],
    ["Linux riscv64", { s: "Linux", m: "riscv64" }],
    ["Linux aarch64 musl", { s: "Linux", m: "aarch64", musl: true }],
    ["Linux x86_64 musl without AVX2", { s: "Linux", m: "x86_64", musl: true, avx2: false }],
  ] as const)("%s", (_name, machine) => {
    const ours = releaseTarget(platform(machine));
    const theirs = installSh(machine);
    // install.sh's refusal goes on with what to do instead, and names the OS as uname does
    // (FreeBSD, not freebsd); the reason itself is the same words.
    if ("target" in ours) expect(ours.target).toBe(theirs);
    else expect(theirs.toLowerCase()).toStartWith(ours.problem.toLowerCase());
  });

  test("the release directories and the checksum file are install.sh's", () => {
    // install.sh's own words for the four directories, with its shell variables as the version.
    expect(SCRIPT).toContain(`base="${releaseDir(null, "$version")}"`);
    expect(SCRIPT).toContain(`base="${releaseDir(null, null)}"`);
    expect(SCRIPT).toContain(`if [ -n "$version" ]; then base="${releaseDir("$root", "$version")}"; else base="${releaseDir("$root/", null)}"; fi`);
    expect(SCRIPT).toContain(`fetch "$base/${SUMS_FILE}" "$tmp/${SUMS_FILE}"`);
    expect(releaseDir(null, null).startsWith(GITHUB_RELEASES)).toBe(true);
  });
});

describe("the systemd note", () => {
  const dir = tempDir("cm-upgrade-unit-");
  const bin = join(dir, "my bin", "claudemesh");
  mkdirSync(join(dir, "my bin"));
  writeFileSync(bin, "");
  const unit = (execStart: string) => {
    const file = join(dir, `unit-${Math.random()}`);
    writeFileSync(file, `[Service]\nUser=claudemesh\nExecStart=${execStart}\n`);
    return file;
  };

  test("said when the unit runs this binary (its path quoted, as install.sh writes one with a space)", () => {
    expect(serviceNote(bin, "9.9.9", unit(`"${bin}" serve`))).toContain("sudo systemctl restart claudemesh");
  });

  test("not said for a unit that runs another binary, or no unit", () => {
    expect(serviceNote(bin, "9.9.9", unit("/usr/local/bin/claudemesh serve"))).toBeNull();
    expect(serviceNote(bin, "9.9.9", join(dir, "none.service"))).toBeNull();
  });
});
