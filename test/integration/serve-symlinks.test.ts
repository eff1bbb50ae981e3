// Symbolic links in a data directory (src/store/sqlite/own-file.ts, dir-lock.ts, open.ts,
// src/broker/pid-file.ts; docs/operations.md "The data directory"). `serve` may run as root or as a
// service user: a link where one of its own files belongs (claudemesh.pid, claudemesh.lock, a
// side file of the database) is refused, exit 65, and what it points to keeps its bytes and mode.
// The database file itself may be a link to a file elsewhere (an operator's layout): it is served,
// and its -wal is the one SQLite keeps beside the real file. Every target here is a private file
// in a temp dir, never a system file. A PID file is read the same way (own-file.ts readOwnFile):
// with a broker holding the lock, a link there made `serve` name whatever PID the linked file held,
// and a FIFO there hung it; both are refused with the write path's sentence.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { serveOnce, spawnBroker } from "../helpers/process.ts";
import { mkfifo } from "../helpers/special-files.ts";

const cfg = tempDir("cm-serve-links-cfg-");

/** A private file outside the data directory, 0644, for a link to point at. */
function target(bytes: string): string {
  const file = join(tempDir("cm-link-target-"), "precious.txt");
  writeFileSync(file, bytes);
  chmodSync(file, 0o644);
  return file;
}

const seen = (file: string) => ({ bytes: readFileSync(file, "utf8"), mode: (statSync(file).mode & 0o777).toString(8) });
const refused = (path: string) => `claudemesh serve: cannot start: ${path} is a symbolic link, not a file claudemesh made: remove it and start again\n`;

describe("a symbolic link where serve keeps a file of its own is refused, never followed", () => {
  test.each(["claudemesh.pid", "claudemesh.lock"])("%s", async (name) => {
    const data = tempDir("cm-serve-link-");
    chmodSync(data, 0o700);
    // Bytes that are not an SQLite database: the lock file's repair would have emptied them.
    const file = target("not claudemesh's: keep these bytes\n".repeat(20));
    const before = seen(file);
    symlinkSync(file, join(data, name));
    expect(await serveOnce(data)).toEqual({ code: 65, stderr: refused(join(data, name)) });
    expect(seen(file)).toEqual(before);
    expect(readdirSync(data)).toContain(name); // left for the operator to remove
    const checked = await cli(cfg, ["serve", "--check", "--data-dir", data]);
    expect(checked.code).toBe(65);
    expect(seen(file)).toEqual(before);
  }, 60_000);

  test("claudemesh.db-wal", async () => {
    const data = tempDir("cm-serve-link-");
    const file = target("not a write-ahead log\n");
    const before = seen(file);
    symlinkSync(file, join(data, "claudemesh.db-wal"));
    const message = `${join(data, "claudemesh.db-wal")} is a symbolic link, not a file claudemesh made: remove it and start again`;
    expect(await serveOnce(data)).toEqual({ code: 65, stderr: `claudemesh serve: cannot start: ${message}\n` });
    expect(seen(file)).toEqual(before);
  }, 60_000);
});

describe("the database file may be a link to a file elsewhere", () => {
  test("serve opens it, makes it 0600 and keeps no stray -wal in the data directory", async () => {
    const data = tempDir("cm-serve-dblink-");
    const disk = tempDir("cm-serve-dbdisk-");
    const real = join(disk, "claudemesh.db");
    new Database(real, { create: true }).close();
    chmodSync(real, 0o644);
    symlinkSync(real, join(data, "claudemesh.db"));
    expect(await serveOnce(data)).toBe("started");
    expect((statSync(real).mode & 0o777).toString(8)).toBe("600");
    // SQLite keeps the -wal beside the real file; the durability flush (wal-sync.ts) must flush that
    // one, not make an empty one beside the link.
    expect(readdirSync(data).filter((f) => f.startsWith("claudemesh.db"))).toEqual(["claudemesh.db"]);
    const db = new Database(real, { readonly: true });
    expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM schema_migrations").get()!.n).toBeGreaterThan(0);
    db.close();
    expect(await serveOnce(data)).toBe("started"); // and again, now that it holds a database
  }, 60_000);

  test("a FIFO where the linked file's -wal belongs is refused (SQLite keeps side files beside the file, not the link)", async () => {
    const data = tempDir("cm-serve-dblink-");
    const disk = tempDir("cm-serve-dbdisk-");
    const real = join(disk, "claudemesh.db");
    new Database(real, { create: true }).close();
    symlinkSync(real, join(data, "claudemesh.db"));
    mkfifo(`${real}-wal`);
    expect(await serveOnce(data)).toEqual({ code: 65, stderr: `claudemesh serve: cannot start: ${real}-wal should be the database's write-ahead log but is a named pipe (FIFO): move it away and start again\n` });
    expect(statSync(`${real}-wal`).isFIFO()).toBe(true);
  }, 60_000);
});

describe("the PID file of a directory a broker holds is read without following a link or waiting on a FIFO", () => {
  test("a link (to a file naming a live `… serve` process) and a FIFO: serve and serve --check exit 65, admin restore 5, with the write path's sentence", async () => {
    const data = tempDir("cm-serve-pidlink-");
    await using broker = await spawnBroker(data);
    const backup = await cli(cfg, ["admin", "backup", "--data-dir", data, "--json"]);
    expect(backup.code).toBe(0);
    // A live process whose argv holds "serve": what the linked file names would pass as the holder.
    const impostor = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1 << 30)", "serve"], { stdout: "ignore", stderr: "ignore" });
    try {
      const pidFile = join(data, "claudemesh.pid");
      const file = target(`${impostor.pid}\n`);
      const before = seen(file);
      rmSync(pidFile);
      symlinkSync(file, pidFile);
      const linked = `${pidFile} is a symbolic link, not a file claudemesh made: remove it and start again`;
      expect(await serveOnce(data)).toEqual({ code: 65, stderr: refused(pidFile) });
      const checked = await cli(cfg, ["serve", "--check", "--data-dir", data]);
      expect({ code: checked.code, stderr: checked.stderr }).toEqual({ code: 65, stderr: `claudemesh serve: cannot check ${data}: ${linked}\n` });
      const restored = await cli(cfg, ["admin", "restore", backup.json().file, "--force", "--data-dir", data], { timeoutMs: 30_000 });
      expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${linked}\n` });
      expect(seen(file)).toEqual(before);

      rmSync(pidFile);
      mkfifo(pidFile);
      expect(await serveOnce(data)).toEqual({ code: 65, stderr: `claudemesh serve: cannot start: ${pidFile} is not a regular file, not a file claudemesh made: remove it and start again\n` });
    } finally {
      impostor.kill("SIGKILL");
    }
    // The broker leaves what is there alone when it stops: it is not its PID file.
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
    expect(statSync(join(data, "claudemesh.pid")).isFIFO()).toBe(true);
  }, 120_000);
});
