// The settings SQLite really runs with (open.ts readSettings) and the refusal of a database that
// did not take one the broker relies on (settingsProblem, reliability plan T26).
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { startFailure } from "../../src/broker/data-dir-errors.ts";
import { openDatabase, readSettings, settingsProblem, StorageSettingsError } from "../../src/store/sqlite/open.ts";
import { tempDir } from "../helpers/temp-dir.ts";

describe("storage settings", () => {
  test("openDatabase's connection reads back WAL, the synchronous asked for, foreign keys and a busy timeout", () => {
    for (const synchronous of ["normal", "full"] as const) {
      const db = openDatabase(join(tempDir(), "claudemesh.db"), { synchronous });
      try {
        expect(readSettings(db)).toEqual({ sqlite: expect.stringMatching(/^3\./), journalMode: "wal", sqliteSynchronous: synchronous, foreignKeys: true, busyTimeoutMs: 5000 });
      } finally {
        db.close();
      }
    }
  });

  test("a file left in rollback-journal mode is refused, with what to do", () => {
    const path = join(tempDir(), "claudemesh.db");
    const db = new Database(path, { create: true, strict: true });
    try {
      db.run("PRAGMA foreign_keys = ON");
      const found = readSettings(db);
      expect(found.journalMode).toBe("delete");
      expect(settingsProblem(path, found, "full")).toBe(`SQLite kept ${path} in journal mode "delete" when asked for WAL, which claudemesh needs for its durability; this file system may not support it (a network or FUSE mount): use a data directory on a local disk (ext4, xfs, APFS)`);
    } finally {
      db.close();
    }
  });

  test("an in-memory database needs no WAL, but still the synchronous asked for and foreign keys", () => {
    const db = new Database(":memory:");
    try {
      db.run("PRAGMA synchronous = FULL");
      expect(settingsProblem(":memory:", readSettings(db), "normal")).toBe("SQLite runs :memory: with synchronous=full, not the normal asked for");
      db.run("PRAGMA synchronous = NORMAL");
      expect(settingsProblem(":memory:", readSettings(db), "normal")).toBe("SQLite did not turn foreign keys on for :memory: (this build may omit them)");
      db.run("PRAGMA foreign_keys = ON");
      expect(settingsProblem(":memory:", readSettings(db), "normal")).toBeNull();
    } finally {
      db.close();
    }
  });

  test("serve words the refusal as data it cannot serve (exit 65), not as something a restart may fix", () => {
    const dir = tempDir();
    expect(startFailure(new StorageSettingsError("SQLite kept x in journal mode \"delete\""), dir, false)).toEqual({ message: 'SQLite kept x in journal mode "delete"', fix: null, kind: "data" });
  });
});
