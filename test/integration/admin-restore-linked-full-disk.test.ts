// Review of session 24 (`admin restore` through a claudemesh.db link, maintenance.ts): the copy is
// written in the directory of the file the link names, usually on another disk (the reason for
// the link). When that disk is full, the refusal (admin-errors.ts restoreFailure, diskFault and
// diskSaid given the data directory) says the disk holding the *data directory* is full and to
// free space there: the operator frees space on the wrong disk. Mounts need root on Linux.
import { describe, expect, test } from "bun:test";
import { readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

describe.skipIf(!asRootOnLinux)("restore through a link onto a full disk", () => {
  test("the refusal names the full disk: the one holding the linked file, not the data directory", async () => {
    const backup = join(tempDir("cm-linked-full-bk-"), "b.db");
    expect((await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", backup])).code).toBe(0);
    const mnt = tempDir("cm-linked-full-mnt-");
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).exitCode).toBe(0);
    try {
      Bun.spawnSync(["sh", "-c", `head -c 2000000 /dev/zero > '${mnt}/filler'`]);
      const dataDir = tempDir("cm-linked-full-data-");
      symlinkSync(join(mnt, "claudemesh.db"), join(dataDir, "claudemesh.db"));
      const r = await admin(["restore", backup, "--data-dir", dataDir]);
      expect({ code: r.code, fullDisk: r.stderr.match(/the disk holding (\S+) is full/)?.[1] ?? r.stderr }).toEqual({ code: 5, fullDisk: mnt });
      // No copy is left; the database's lock (database-lock.ts, empty) stays, as a data directory's does.
      expect(readdirSync(mnt).sort()).toEqual(["claudemesh.lock", "filler"]);
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  }, 90_000);
});
