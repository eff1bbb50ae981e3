// `claudemesh backup FILE` where FILE cannot be written: a path through a file, a directory no
// file can be created in, a file system that refuses it. Refused with exit 5, the path and the
// reason, before the passphrase is asked for (no stdin here: asking would fail differently), and
// nothing is written. The file system's raw text (ENOTDIR, EACCES, ENOENT…) with exit 1 and "report
// it if it repeats" was shown before. The restore side: a backup path through a file.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam } from "../helpers/cli.ts";

const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

describe("backup to a place that cannot hold it", () => {
  test("a path through a file names the file, before the passphrase", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice], root } = team;
    const file = join(root, "notes.txt");
    writeFileSync(file, "x");
    const target = join(file, "alice.cmbk");
    const r = await cli(alice, ["backup", target]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: Cannot write the backup ${target}: ${file} is a file, not a directory.\n  fix: choose a path that does not go through the file ${file}\n`,
    });
    const json = await cli(alice, ["backup", join(file, "deeper", "alice.cmbk"), "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "local_config", message: `Cannot write the backup ${join(file, "deeper", "alice.cmbk")}: ${file} is a file, not a directory.`, fix: `choose a path that does not go through the file ${file}` } } });

    const restore = await cli(alice, ["restore", target, "--passphrase-stdin", "--force"], { stdin: "x\n" });
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 5, stderr: `claudemesh: Cannot read the backup ${target}: ${file} is a file, not a directory.\n  fix: choose a path that does not go through the file ${file}\n` });
  }, 60_000);

  // As root, only a kernel file system refuses: /proc takes no new names, /sys no new files.
  test.skipIf(!asRootOnLinux)("as root: a directory nothing can be created in, and one the kernel keeps read-only", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const proc = await cli(alice, ["backup", "/proc/claudemesh-test/alice.cmbk", "--passphrase-stdin"], { stdin: "correct horse battery staple\n" });
    expect({ code: proc.code, stderr: proc.stderr }).toEqual({ code: 5, stderr: "claudemesh: Cannot write the backup /proc/claudemesh-test/alice.cmbk: /proc/claudemesh-test does not exist and cannot be created.\n  fix: choose a path in a directory you can write to\n" });
    const sys = await cli(alice, ["backup", "/sys/alice.cmbk", "--passphrase-stdin"], { stdin: "correct horse battery staple\n" });
    expect({ code: sys.code, stderr: sys.stderr }).toEqual({ code: 5, stderr: "claudemesh: Cannot write the backup /sys/alice.cmbk: permission denied (the file system refuses it even to root).\n  fix: choose a place you can write to, or get write access to /sys\n" });
  }, 60_000);
});
