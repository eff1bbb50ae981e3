// A shifted wall clock for child processes, through libfaketime (Debian's `libfaketime`, which the
// `faketime` package brings; scripts/test-tools.sh installs it): preloaded into a process, it adds
// a constant offset to what the process reads from the realtime clock (Date.now, new Date(),
// SQLite's 'now'). Every process started with the same environment reads the same shifted time,
// so the checks they make of each other's clocks (the hello's ±60 s, attestations' expiry) hold as
// they do between real machines. The monotonic clock is left alone (FAKETIME_DONT_FAKE_MONOTONIC):
// timers, backoff and performance.now() run as they would. File times stay real (Debian's build
// reports stat as it is, to coreutils and to Bun alike): code that ages a file against Date.now()
// (stale temp files, a lock's takeover guard) sees files as old as the offset.
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Debian's multiarch directory for this process's architecture (where apt puts the library). */
const MULTIARCH: Record<string, string> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu", arm: "arm-linux-gnueabihf", ia32: "i386-linux-gnu" };
const LIB = "libfaketime.so.1";

/** The path of libfaketime.so.1: Debian's /usr/lib/<multiarch>/faketime/ for this architecture,
 *  else any multiarch directory that has it, else the upstream `make install` places. Throws,
 *  naming the package, when it is not installed. */
export function libfaketimePath(): string {
  const arch = MULTIARCH[process.arch];
  const others = existsSync("/usr/lib") ? readdirSync("/usr/lib").filter((d) => d.endsWith("-linux-gnu") || d.endsWith("-linux-gnueabihf")) : [];
  const dirs = [...(arch ? [`/usr/lib/${arch}`] : []), ...others.map((d) => `/usr/lib/${d}`), "/usr/lib", "/usr/lib64", "/usr/local/lib"];
  for (const dir of dirs) {
    const path = join(dir, "faketime", LIB);
    if (existsSync(path)) return path;
  }
  throw new Error(`${LIB} not found under ${dirs.map((d) => `${d}/faketime/`).join(", ")}: install the Debian package faketime (scripts/test-tools.sh)`);
}

export type FakedClock = {
  /** The environment to add to a child process's so that its wall clock reads the shifted time. */
  env: Record<string, string>;
  /** The offset given to libfaketime, in whole seconds (what was added to the real clock). */
  offsetS: number;
  /** The shifted time now (this process's real clock plus the offset), in ms since the epoch. */
  now(): number;
};

/** A clock that reads `nowMs` at the moment of the call and then runs at the real pace. The
 *  offset is fixed here, once: give every process of one scenario the same `env`. Works in a test
 *  process that itself runs under a relative FAKETIME (how to see a test on a later date): the
 *  children's offset is counted from the real clock, which libfaketime shifts for them. */
export function fakedClock(nowMs: number): FakedClock {
  const lib = libfaketimePath();
  const realNow = () => Date.now() - inheritedOffsetMs(lib);
  // Whole seconds: libfaketime reads a fraction with the locale's decimal separator.
  const offsetS = Math.round((nowMs - realNow()) / 1000);
  const preload = [lib, ...(process.env.LD_PRELOAD ?? "").split(/[\s:]+/).filter((p) => p && p !== lib)].join(" ");
  return {
    env: { LD_PRELOAD: preload, FAKETIME: `${offsetS < 0 ? "-" : "+"}${Math.abs(offsetS)}`, FAKETIME_DONT_FAKE_MONOTONIC: "1" },
    offsetS,
    now: () => realNow() + offsetS * 1000,
  };
}

const UNIT_S: Record<string, number> = { "": 1, m: 60, h: 3600, d: 86_400, y: 365 * 86_400 };

/** The offset libfaketime applies to this process itself (0 when it is not preloaded), in ms.
 *  Throws on a FAKETIME that is not a relative offset: the real time cannot be known then. */
function inheritedOffsetMs(lib: string): number {
  const spec = process.env.FAKETIME;
  if (!spec || !(process.env.LD_PRELOAD ?? "").includes("libfaketime")) return 0;
  const m = /^([+-]\d+(?:\.\d+)?)([mhdy]?)$/.exec(spec.trim());
  if (!m) throw new Error(`this process runs under FAKETIME=${JSON.stringify(spec)} (${lib}): only a relative offset such as "+400d" lets the test count its children's offset`);
  return Number(m[1]) * UNIT_S[m[2]!]! * 1000;
}

export type SteppedChildClock = {
  /** The environment to add to a child process's: its wall clock reads the real one plus the
   *  offset the file holds, read at every reading (a few µs each). */
  env: Record<string, string>;
  /** Moves every such process's wall clock `ms` forward (negative: back), whole seconds, at once;
   *  their monotonic clocks stay. */
  step(ms: number): void;
};

/** A wall clock that child processes share and that a test steps while they run, as a laptop's
 *  suspend looks to them (the wall clock jumps, the monotonic one does not) and as the clocks of a
 *  broker and its clients agree across it. libfaketime reads the offset from a file in `dir`
 *  (FAKETIME_TIMESTAMP_FILE) at every reading of the clock (FAKETIME_NO_CACHE: with its cache of
 *  a second, a broker read the old offset for longer than that, and refused a hello as skewed). */
export function steppedChildClock(dir: string): SteppedChildClock {
  const lib = libfaketimePath();
  const file = join(dir, "faketime-offset");
  let offsetS = 0;
  writeFileSync(file, "+0\n");
  const preload = [lib, ...(process.env.LD_PRELOAD ?? "").split(/[\s:]+/).filter((p) => p && p !== lib)].join(" ");
  return {
    env: { LD_PRELOAD: preload, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" },
    step(ms) {
      offsetS += Math.round(ms / 1000);
      writeFileSync(file, `${offsetS < 0 ? "-" : "+"}${Math.abs(offsetS)}\n`);
    },
  };
}
