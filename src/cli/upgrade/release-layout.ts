// Where a release lives and what it is called: the layout install.sh defines (a POSIX sh script
// cannot import this, so test/unit/upgrade-layout.test.ts holds the two to the same names), read
// by `claudemesh upgrade`. A download root holds `v<version>/` and `latest/`, each with one
// `claudemesh-<target>` per platform and a `SHA256SUMS` listing them; GitHub's releases are the
// default root, where the same directories are `download/v<version>/` and `latest/download/`.
import { existsSync, readFileSync } from "node:fs";

/** The GitHub releases install.sh downloads from when CLAUDEMESH_DOWNLOAD_URL is not set. */
export const GITHUB_RELEASES = "https://github.com/claudemesh/claudemesh/releases";

/** The file of every release that lists each asset's SHA-256, as `sha256sum` prints it. */
export const SUMS_FILE = "SHA256SUMS";

/** The directory holding release `version`'s files (null: the latest release), under `root` (the
 *  CLAUDEMESH_DOWNLOAD_URL value, or null for GitHub), without a trailing slash. */
export function releaseDir(root: string | null, version: string | null): string {
  if (root) return `${root.replace(/\/+$/, "")}/${version ? `v${version}` : "latest"}`;
  return version ? `${GITHUB_RELEASES}/download/v${version}` : `${GITHUB_RELEASES}/latest/download`;
}

/** What install.sh's detect_target looks at, gathered once so the choice below is a pure function. */
export type Platform = { os: string; arch: string; musl: boolean; avx2: boolean; rosetta: boolean };

/** The release target for `p` (the asset is `claudemesh-<target>`), as install.sh's detect_target
 *  picks it, or why there is none. */
export function releaseTarget(p: Platform): { target: string } | { problem: string } {
  const os = p.os === "linux" ? "linux" : p.os === "darwin" ? "darwin" : null;
  if (!os) return { problem: `no claudemesh build for ${p.os}` };
  let arch = p.arch === "x64" ? "x64" : p.arch === "arm64" ? "arm64" : null;
  if (!arch) return { problem: `no claudemesh build for ${os} on ${p.arch}` };
  // An x64 process on Apple silicon runs under Rosetta: the native arm64 build is faster.
  if (os === "darwin" && arch === "x64" && p.rosetta) arch = "arm64";
  if (os === "linux" && p.musl) {
    if (arch !== "x64") return { problem: `no musl (Alpine) build for ${arch}` };
    if (!p.avx2) return { problem: "the musl (Alpine) build needs a CPU with AVX2" };
    return { target: "linux-x64-musl" };
  }
  if (os === "linux" && arch === "x64" && !p.avx2) return { target: "linux-x64-baseline" };
  return { target: `${os}-${arch}` };
}

/** This machine, as install.sh would see it: the libc this process runs on (a musl build reports
 *  no glibc), AVX2 from /proc/cpuinfo, Rosetta from sysctl. */
export function thisPlatform(): Platform {
  const report = process.platform === "linux" ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined) : undefined;
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  let rosetta = false;
  if (process.platform === "darwin" && process.arch === "x64") {
    const r = Bun.spawnSync(["sysctl", "-n", "sysctl.proc_translated"], { stderr: "ignore" });
    rosetta = r.stdout.toString().trim() === "1";
  }
  return { os: process.platform, arch: process.arch, musl: process.platform === "linux" && !report?.header?.glibcVersionRuntime, avx2: /\bavx2\b/.test(cpuinfo), rosetta };
}

/** Parses `sha256sum` output ("<64 hex>  <name>", optionally "*<name>") into name → hash.
 *  Throws on a line that is neither blank nor of that shape. */
export function parseSums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim());
    if (!m) throw new Error(`not a SHA256SUMS line: ${JSON.stringify(line)}`);
    out.set(m[2]!, m[1]!);
  }
  return out;
}
