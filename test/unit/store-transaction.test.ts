// writeTx (src/store/sqlite/transaction.ts): an immediate transaction that commits on return and
// rolls back on throw; nested calls are savepoints, so an inner failure undoes only the inner
// writes. Real SQLite files.
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { openDatabase } from "../../src/store/sqlite/open.ts";
import { writeTx } from "../../src/store/sqlite/transaction.ts";
import { scratchDir } from "../preload.ts";

const open: Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function database(): { db: Database; path: string } {
  const path = join(scratchDir("cm-tx-"), "t.db");
  const db = openDatabase(path, { synchronous: "normal" });
  db.run("CREATE TABLE t (v TEXT NOT NULL)");
  open.push(db);
  return { db, path };
}

const rows = (db: Database) => db.query<{ v: string }, []>("SELECT v FROM t ORDER BY rowid").all().map((r) => r.v);
const insert = (db: Database, v: string) => db.query("INSERT INTO t (v) VALUES (?)").run(v);

describe("writeTx", () => {
  test("commits what fn wrote and returns its result", () => {
    const { db } = database();
    expect(writeTx(db, () => (insert(db, "a"), 42))).toBe(42);
    expect({ rows: rows(db), inTransaction: db.inTransaction }).toEqual({ rows: ["a"], inTransaction: false });
  });

  test("a throw rolls everything back and is rethrown", () => {
    const { db } = database();
    const boom = new Error("boom");
    expect(() =>
      writeTx(db, () => {
        insert(db, "a");
        throw boom;
      }),
    ).toThrow(boom);
    expect({ rows: rows(db), inTransaction: db.inTransaction }).toEqual({ rows: [], inTransaction: false });
  });

  test("nested: an inner throw undoes only the inner writes; the outer transaction goes on and commits", () => {
    const { db } = database();
    writeTx(db, () => {
      insert(db, "outer");
      expect(() =>
        writeTx(db, () => {
          insert(db, "inner");
          throw new Error("inner");
        }),
      ).toThrow("inner");
      writeTx(db, () => insert(db, "second inner"));
    });
    expect(rows(db)).toEqual(["outer", "second inner"]);
  });

  test("nested: an outer throw undoes the inner writes too", () => {
    const { db } = database();
    expect(() =>
      writeTx(db, () => {
        writeTx(db, () => insert(db, "inner"));
        throw new Error("outer");
      }),
    ).toThrow("outer");
    expect({ rows: rows(db), inTransaction: db.inTransaction }).toEqual({ rows: [], inTransaction: false });
  });

  test("a COMMIT that fails (a deferred foreign key) rolls back and is rethrown", () => {
    const { db } = database();
    db.run("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
    db.run("CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");
    expect(() =>
      writeTx(db, () => {
        insert(db, "a");
        db.run("INSERT INTO child (parent) VALUES (7)");
      }),
    ).toThrow(/FOREIGN KEY/);
    expect({ rows: rows(db), children: db.query("SELECT COUNT(*) AS n FROM child").get(), inTransaction: db.inTransaction }).toEqual({ rows: [], children: { n: 0 }, inTransaction: false });
  });

  test("BEGIN and COMMIT stay prepared: the statement cache holds more than the store's ~100 statements", () => {
    expect(Database.MAX_QUERY_CACHE_SIZE).toBeGreaterThanOrEqual(256); // bun:sqlite's default is 20
  });

  test("immediate: the write lock is taken before fn reads anything", () => {
    const { db, path } = database();
    const other = new Database(path);
    open.push(other);
    other.run("PRAGMA busy_timeout = 0");
    writeTx(db, () => {
      expect(() => other.run("INSERT INTO t (v) VALUES ('other')")).toThrow(/locked|busy/i);
    });
    other.run("INSERT INTO t (v) VALUES ('other')");
    expect(rows(db)).toEqual(["other"]);
  });
});
