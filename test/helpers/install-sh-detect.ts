// install.sh's detect_target on a made-up machine: the script's functions are defined by
// sourcing everything but its last line (`main "$@"`), then uname, ldd, sysctl and the CPU flag
// check are replaced by stubs. For the tests of the platform it picks (packaging.test.ts) and of
// the binary's own choice, which must be the same (upgrade-layout.test.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const INSTALL_SH = resolve(import.meta.dir, "../../install.sh");

/** A machine as uname -s / -m name it, what `ldd --version` prints, AVX2 (default yes) and
 *  sysctl.proc_translated (Rosetta: "1"). */
export type Machine = { s: string; m: string; ldd?: string; avx2?: boolean; translated?: string };

export const GLIBC_LDD = "ldd (Debian GLIBC 2.36-9) 2.36";
export const MUSL_LDD = "musl libc (x86_64)\nVersion 1.2.4";

/** A detect_target runner whose copy of install.sh's body is written into `work`. */
export function installShDetect(work: string) {
  const body = join(work, "install-body.sh");
  writeFileSync(body, readFileSync(INSTALL_SH, "utf8").trimEnd().split("\n").slice(0, -1).join("\n") + "\n");
  return (m: Machine) => {
    const p = Bun.spawnSync(
      [
        "sh",
        "-c",
        `. ${body}
         uname() { case "$1" in -s) echo "$S" ;; -m) echo "$M" ;; esac; }
         ldd() { echo "$LDD"; }
         sysctl() { echo "$TRANSLATED"; }
         cpu_has_avx2() { [ "$AVX2" = 1 ]; }
         detect_target`,
      ],
      { env: { PATH: process.env.PATH!, HOME: work, S: m.s, M: m.m, LDD: m.ldd ?? GLIBC_LDD, AVX2: m.avx2 === false ? "0" : "1", TRANSLATED: m.translated ?? "" } },
    );
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
  };
}
