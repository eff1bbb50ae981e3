// What `admin backup` leaves and `admin restore` installs is the copy they checked, even when a
// file changes while they check it (docs/operations.md "Backups", docs/decisions.md session 19):
// - a file made at the backup's name while its copy's chains are verified is kept as it is; the
//   copy is not put over it (snapshotFile placed it with a rename, which replaced that file), and
//   the refusal is the "exists" one (MeshError conflict, exit 5);
// The race is made deterministic from inside snapshotFile's `check`.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupFailure } from "../../src/broker/backup-errors.ts";
import { snapshotFile } from "../../src/store/sqlite/data-file.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/broker.ts";

const DB = "claudemesh.db";

describe("admin backup and restore keep what they checked", () => {
  test("a file made at the backup's name while the copy is checked stays; the refusal is the 'exists' one", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-race-out-");
    const file = join(out, "b.db");
    const failed = await snapshotFile(join(dataDir, DB), file, "live", async () => writeFileSync(file, "mine")).then(
      () => null,
      (e) => e,
    );
    expect({ name: failed?.name, side: failed?.side, message: failed?.message, kept: readFileSync(file, "utf8").slice(0, 20), files: readdirSync(out) }).toEqual({
      name: "DataFileError",
      side: "taken",
      message: `${file} appeared while the copy was being checked; a copy never overwrites.`,
      kept: "mine",
      files: ["b.db"],
    });
    const said = backupFailure(failed, { db: join(dataDir, DB), file, dataDir, out: true }) as Error & { code?: string };
    expect({ name: said.name, code: said.code, message: said.message }).toEqual({ name: "MeshError", code: "conflict", message: `${file} appeared while the copy was being checked; a copy never overwrites. Choose another name.` });
    // The name free again: the same backup goes through.
    expect((await admin(["backup", "--data-dir", dataDir, "--out", join(out, "c.db")])).code).toBe(0);
  }, 60_000);
});
