// The admin commands on a database a newer claudemesh wrote (docs/operations.md "Upgrading": a
// binary rolled back by mistake). `serve` and `serve --check` refuse to open one; `admin token`
// wrote a token into it (exit 0) and `admin backup` made a copy and printed a restore command that
// the same binary's `admin restore` then refused. Both now refuse as `serve` does, exit 5 like
// that restore, changing nothing in the data directory.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/broker.ts";

const NEWER = LATEST_VERSION + 1;

test.each(["token", "backup"])("admin %s refuses a database of a newer schema, and changes nothing", async (verb) => {
  const dataDir = await dataDirWithDatabase();
  const db = join(dataDir, "claudemesh.db");
  const file = new Database(db);
  file.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, '9999_future.sql', 'x', 0)", [NEWER]);
  file.close();
  const state = () => ({ files: readdirSync(dataDir).sort(), sha256: createHash("sha256").update(readFileSync(db)).digest("hex") });
  const before = state();
  const out = join(tempDir("cm-newer-out-"), "backup.db");

  const r = await admin([verb, "--data-dir", dataDir, ...(verb === "backup" ? ["--out", out] : [])]);
  const what = verb === "backup" ? "back up" : "write a token into";
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
    code: 5,
    stdout: "",
    stderr: `claudemesh: Cannot ${what} the broker database ${db}: it was written by a newer claudemesh (schema version ${NEWER}; this binary knows up to ${LATEST_VERSION}); nothing was done. Run this command with the claudemesh that serves it (\`claudemesh version --json\` shows the schema a binary knows).\n`,
  });
  expect(state()).toEqual(before);
  expect(existsSync(out)).toBe(false);
});
