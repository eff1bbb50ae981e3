// Review of session 24 (`admin restore` through a claudemesh.db link, src/broker/maintenance.ts and
// restore-target.ts), run as root on a data directory of the broker's own user: the layout of a
// systemd install, where `sudo claudemesh admin restore` is how an operator restores.
// 1. Root makes the link, as the refusal's fix says to. The restore first gives what root owns in
//    the data directory to its owner (giveDataDirToOwner, lchown), the link included, and then
//    refuses to follow the link because root no longer owns it (exit 5), with the link changed.
// 2. Through a link the copy is made in the directory of the file the link names, and given to
//    *that* directory's owner: when that is root (a mount point, a directory of root's that the
//    broker's user may write in), the restored database stays root's 0600 and the broker, running
//    as its own user, cannot open it. docs/operations.md says the copy is given to the data
//    directory's owner.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, lchownSync, lstatSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { cli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const NOBODY = 65534;

/** A backup of a fresh broker database, made by `admin backup`. */
async function aBackup(): Promise<string> {
  const out = join(tempDir("cm-linked-root-bk-"), "b.db");
  const r = await admin(["backup", "--data-dir", await dataDirWithDatabase(), "--out", out]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return out;
}

/** A data directory of the broker's user (nobody) whose claudemesh.db is root's link to
 *  `<disk>/claudemesh.db`, nobody's database; `disk` nobody's too unless `rootDisk` (then root's,
 *  mode 1777). */
async function linkedAsService(rootDisk: boolean): Promise<{ dataDir: string; link: string; real: string }> {
  const dataDir = tempDir("cm-linked-root-data-");
  const disk = tempDir("cm-linked-root-disk-");
  const real = join(disk, "claudemesh.db");
  const link = join(dataDir, "claudemesh.db");
  symlinkSync(real, link);
  const made = await cli(tempDir("cm-linked-root-cfg-"), ["serve", "--check", "--port", "0", "--data-dir", dataDir]);
  expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
  for (const f of readdirSync(disk)) chownSync(join(disk, f), NOBODY, NOBODY);
  for (const f of readdirSync(dataDir)) lchownSync(join(dataDir, f), NOBODY, NOBODY);
  chownSync(dataDir, NOBODY, NOBODY);
  if (rootDisk) chmodSync(disk, 0o1777);
  else chownSync(disk, NOBODY, NOBODY);
  lchownSync(link, 0, 0); // root made the link
  return { dataDir, link, real };
}

/** `admin restore --force --json` of `backup` into `dataDir`; exit 0 expected. */
async function restored(backup: string, dataDir: string) {
  const r = await admin(["restore", backup, "--force", "--data-dir", dataDir, "--json"]);
  expect({ code: r.code, stderr: r.stderr, stdout: r.code === 0 ? "" : r.stdout }).toEqual({ code: 0, stderr: "", stdout: "" });
  return r.json();
}

describe.skipIf(process.getuid?.() !== 0)("restore run as root through root's link in a data directory of the broker's user", () => {
  test("the link root made is followed, and stays root's", async () => {
    const backup = await aBackup();
    const { dataDir, link, real } = await linkedAsService(false);
    const r = await restored(backup, dataDir);
    expect({ database: r.database, linkOwner: lstatSync(link).uid, owner: statSync(real).uid }).toEqual({ database: real, linkOwner: 0, owner: NOBODY });
  }, 120_000);

  test("the restored database is the broker's user's when the linked file's directory is root's", async () => {
    const backup = await aBackup();
    const { dataDir, real } = await linkedAsService(true);
    const r = await restored(backup, dataDir);
    expect({ database: r.database, owner: statSync(real).uid }).toEqual({ database: real, owner: NOBODY });
  }, 120_000);
});
