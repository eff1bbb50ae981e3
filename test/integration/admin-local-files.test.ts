// The operator's commands when a path is not what it should be: `serve --config` naming a
// directory, nothing, or a path through a file (exit 2, the path and the fix: the file's raw
// EISDIR/ENOENT text was shown); `admin backup --out` an existing directory (said "exists"; now the
// file name to give) or a path through a file; a claudemesh.db that is a directory ("No broker
// database", exit 4, from `admin token`; "Backup failed: unable to open", exit 6, from `admin
// backup`); `admin restore` into a data directory it cannot lock or create (exit 6, "broker
// unavailable", before; a local refusal, exit 5, now); `serve` on a data directory holding a
// directory for its database, or one it cannot create. Nothing is created on any refusal.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { cli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const cfg = tempDir("cm-admin-cfg-");
const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

/** `claudemesh serve …` to its exit (each case here refuses at once). */
const serve = (args: string[]) => cli(cfg, ["serve", "--port", "0", ...args], { timeoutMs: 30_000 });

describe("serve --config that is not a config file", () => {
  test("a directory, a missing file, a path through a file: exit 2, the path, the fix", async () => {
    const root = tempDir("cm-admin-");
    const file = join(root, "file");
    writeFileSync(file, "{}");
    const data = join(root, "data");
    const cases: [config: string, stderr: string][] = [
      [root, `claudemesh serve: The config file ${root} is a directory, not a file.\n  fix: give --config (or CLAUDEMESH_CONFIG) the path of the JSON config file, not a directory\n`],
      [join(root, "nope.json"), `claudemesh serve: The config file ${join(root, "nope.json")} does not exist.\n  fix: check the path given to --config (or CLAUDEMESH_CONFIG)\n`],
      [join(file, "config.json"), `claudemesh serve: Cannot read the config file ${join(file, "config.json")}: ${file} is a file, not a directory.\n  fix: check the path given to --config (or CLAUDEMESH_CONFIG)\n`],
    ];
    for (const [config, stderr] of cases) {
      const r = await serve(["--config", config, "--data-dir", data]);
      expect({ config, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ config, code: 2, stdout: "", stderr });
    }
    writeFileSync(join(root, "trailing.json"), '{\n  "port": 7911,\n}\n');
    const json = await serve(["--config", join(root, "trailing.json"), "--data-dir", data]);
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 2, stderr: `claudemesh serve: config file ${join(root, "trailing.json")} is not valid JSON (line 3, column 1: property name must be a string literal)\n  fix: correct the JSON there (a trailing comma and a missing quote are the usual ones), or point --config (or CLAUDEMESH_CONFIG) at another file\n` });
    // The admin commands read --config the same way: a usage error with the same fix.
    const backup = await admin(["backup", "--config", root]);
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 2, stderr: `claudemesh: The config file ${root} is a directory, not a file.\n  fix: give --config (or CLAUDEMESH_CONFIG) the path of the JSON config file, not a directory\n` });
    expect(existsSync(data)).toBe(false);
  }, 60_000);
});

describe("serve with a data directory in the way", () => {
  test("a claudemesh.db that is a directory is named (SQLite called it a disk I/O error: 'check dmesg')", async () => {
    const dataDir = tempDir("cm-admin-data-");
    mkdirSync(join(dataDir, "claudemesh.db"));
    const said = `${join(dataDir, "claudemesh.db")} is a directory, not a database file: move it away and start again`;
    const r = await serve(["--data-dir", dataDir]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 65, stdout: "", stderr: `claudemesh serve: cannot start: ${said}\n` });
    const check = await serve(["--check", "--data-dir", dataDir]);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 65, stderr: `claudemesh serve: cannot open the database in ${dataDir}: ${said}\n` });
  }, 60_000);

  test.skipIf(!asRootOnLinux)("as root: a data directory the kernel will not create is named, with a fix (was the raw ENOENT)", async () => {
    const r = await serve(["--data-dir", "/proc/claudemesh-test"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: "claudemesh serve: cannot start: cannot create the data directory /proc/claudemesh-test: nothing can be created in /proc.\n  fix: choose a path in a directory you can write to\n" });
  }, 60_000);
});

describe("admin backup, token and restore with paths in the way", () => {
  test("backup --out an existing directory gives a file name inside it; a path through a file names the file", async () => {
    const dataDir = await dataDirWithDatabase();
    const out = tempDir("cm-admin-out-");
    const r = await admin(["backup", "--data-dir", dataDir, "--out", out]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: expect.stringMatching(new RegExp(`^claudemesh: ${out} is a directory; give the backup a file name, like ${out}/claudemesh-\\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{4}\\.db\\.\\n$`)) });
    const file = join(out, "file");
    writeFileSync(file, "x");
    const through = await admin(["backup", "--data-dir", dataDir, "--out", join(file, "b.db")]);
    expect({ code: through.code, stderr: through.stderr }).toEqual({ code: 5, stderr: `claudemesh: Cannot write the backup ${join(file, "b.db")}: ${file} is a file, not a directory.\n  fix: choose a path that does not go through the file ${file}\n` });
    expect(readdirSync(out)).toEqual(["file"]);
  }, 60_000);

  test("a claudemesh.db that is a directory is not 'no database': backup and token say what it is", async () => {
    const dataDir = tempDir("cm-admin-data-");
    const db = join(dataDir, "claudemesh.db");
    mkdirSync(db);
    // serve's sentence (store/sqlite/db-path-shape.ts; admin-db-shape.test.ts has the other shapes).
    const expected = { code: 5, stdout: "", stderr: `claudemesh: ${db} is a directory, not a database file: move it away and start again\n` };
    for (const command of [["backup"], ["token"]]) {
      const r = await admin([...command, "--data-dir", dataDir]);
      expect({ command, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ command, ...expected });
    }
    expect(readdirSync(dataDir)).toEqual(["claudemesh.db"]);
    // Nothing there at all is still "not found".
    const none = await admin(["token", "--data-dir", join(dataDir, "nothing")]);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 4, stderr: `claudemesh: No broker database at ${join(dataDir, "nothing", "claudemesh.db")}. Pass the data directory your broker uses: --data-dir, CLAUDEMESH_DATA_DIR or the config file's dataDir.\n` });
  }, 60_000);

  test("restore into a data directory it cannot lock is a local refusal (5), not 'unavailable' (6)", async () => {
    const dataDir = tempDir("cm-admin-data-");
    mkdirSync(join(dataDir, "claudemesh.lock"));
    const source = join(tempDir("cm-admin-src-"), "b.db");
    writeFileSync(source, "not read: the lock comes first");
    const r = await admin(["restore", source, "--data-dir", dataDir]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 5, stdout: "", stderr: `claudemesh: ${join(dataDir, "claudemesh.lock")} is a directory; claudemesh needs a file there for its lock: move it away and start again.\n` });
    const through = await admin(["restore", join(source, "x.db"), "--data-dir", dataDir]);
    expect({ code: through.code, stderr: through.stderr }).toEqual({ code: 5, stderr: `claudemesh: Cannot read the backup ${join(source, "x.db")}: ${source} is a file, not a directory.\n  fix: choose a path that does not go through the file ${source}\n` });
    expect(readdirSync(dataDir)).toEqual(["claudemesh.lock"]);
  }, 60_000);

  test.skipIf(!asRootOnLinux)("as root: restore into a directory the kernel will not create is a local refusal", async () => {
    const source = join(tempDir("cm-admin-src-"), "b.db");
    writeFileSync(source, "x");
    const r = await admin(["restore", source, "--data-dir", "/proc/claudemesh-test"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: "claudemesh: Cannot create the data directory /proc/claudemesh-test: nothing can be created in /proc.\n  fix: choose a path in a directory you can write to\n" });
  }, 60_000);
});
