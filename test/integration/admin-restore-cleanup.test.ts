// `admin restore` that fails leaves no data directory it made (docs/operations.md "Restore"): a
// directory it created, and the parents it created with it, are removed again; one that was there
// keeps what it held. `admin backup` likewise for the directories of its --out. (On a full disk:
// test/integration/admin-full-disk.test.ts.)
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";

test("a restore refused after it took the directory's lock removes the directories it made", async () => {
  const cfg = tempDir("cm-restore-cfg-");
  const root = tempDir("cm-restore-root-");
  const source = join(root, "not-a-backup.db");
  writeFileSync(source, "not a database");
  const restore = (dataDir: string) => cli(cfg, ["admin", "restore", source, "--data-dir", dataDir]);
  const made = await restore(join(root, "srv", "claudemesh"));
  expect({ code: made.code, stderr: made.stderr, left: readdirSync(root) }).toEqual({ code: 2, stderr: expect.stringContaining("not-a-backup.db"), left: ["not-a-backup.db"] });
  const kept = join(root, "kept");
  mkdirSync(kept);
  writeFileSync(join(kept, "notes.txt"), "mine");
  expect((await restore(kept)).code).toBe(2);
  expect(readdirSync(kept).toSorted()).toEqual(["claudemesh.lock", "notes.txt"]);
}, 60_000);

test("a directory whose last name cannot be made (too long): restore and backup leave none of its parents", async () => {
  const root = tempDir("cm-restore-long-");
  const dataDir = await dataDirWithDatabase();
  const backup = join(root, "b.db");
  expect((await admin(["backup", "--data-dir", dataDir, "--out", backup])).code).toBe(0);
  const tooLong = "x".repeat(300); // over NAME_MAX (255): mkdir fails with ENAMETOOLONG
  const restore = await admin(["restore", backup, "--data-dir", join(root, "srv", "a", tooLong)]);
  const copy = await admin(["backup", "--data-dir", dataDir, "--out", join(root, "out", "a", tooLong, "c.db")]);
  expect({ restore: restore.code, backup: copy.code, left: readdirSync(root) }).toEqual({ restore: 5, backup: 5, left: ["b.db"] });
}, 60_000);
