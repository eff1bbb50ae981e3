// `claudemesh serve --check` beside a live `serve` (src/cli/commands/serve.ts, claimDataDir in
// src/broker/pid-file.ts; docs/operations.md "Durability"): the check must never open, and so
// possibly migrate, a database a broker is serving. With the PID file it names the broker's PID;
// with the PID file deleted, the held `claudemesh.lock` alone still tells it a broker is there.
// Once the broker stopped, the check opens the database. The lock file of a real broker is 0600
// with no `-journal` beside it.
// The lock, not a PID file, decides (src/broker/pid-file.ts): a stale PID file naming some live
// `… serve` process keeps nobody out; a lock file holding stray bytes is repaired, a directory in
// its place refused with a message. `admin restore` (src/broker/maintenance.ts) holds the lock
// until its new database is in place, so a `serve` started meanwhile is refused and names it. On a
// full disk `serve` says so in one line and leaves no PID file.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { tempDir } from "../helpers/broker.ts";
import { cli, until } from "../helpers/cli.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { serveOnce, spawnBroker } from "../helpers/process.ts";
import { oldSchemaDatabase } from "../helpers/old-schema.ts";

const cfg = tempDir("cm-serve-lock-cfg-");
/** The check's verdict: its last line (the lines before it list the settings). */
const verdict = (stdout: string) => stdout.slice(stdout.trimEnd().lastIndexOf("\n") + 1);
const check = async (data: string) => {
  const r = await cli(cfg, ["serve", "--check", "--data-dir", data]);
  return { code: r.code, stdout: verdict(r.stdout) };
};

/** A stand-in for a broker from before the lock, run as `bun run <it> serve --data-dir DIR`: it
 *  holds DIR's database open, as a real one does, and nothing else. */
function oldBrokerMain(): string {
  const main = join(tempDir("cm-serve-prelock-src-"), "main.ts");
  writeFileSync(main, 'const fd = require("node:fs").openSync(process.argv.at(-1) + "/claudemesh.db", "r");\nsetInterval(() => fd, 1 << 30);\n');
  return main;
}

describe("serve --check beside a live broker", () => {
  test("names the broker by its PID file, still sees it by its lock once that file is deleted, and opens the database only after it stopped", async () => {
    const data = tempDir("cm-serve-lock-");
    await using broker = await spawnBroker(data);
    const lock = join(data, "claudemesh.lock");
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    expect(existsSync(`${lock}-journal`)).toBe(false);

    const notOpened = `is serving ${data}, so the database was not opened\n`;
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; a broker (PID ${broker.proc.pid}) ${notOpened}` });
    rmSync(join(data, "claudemesh.pid"));
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; a broker ${notOpened}` });

    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; database writable at schema version ${LATEST_VERSION}\n` });
  }, 30_000);
});

const MAIN = join(import.meta.dir, "../../src/main.ts");

describe("serve --check holds the data directory while it opens the database", () => {
  test("a serve started while --check migrates and flushes waits its turn instead of migrating the same file", async () => {
    const data = tempDir("cm-serve-check-");
    const trace = join(tempDir("cm-serve-check-trace-"), "strace.log");
    // The check stops itself (a SIGSTOP strace injects) at its first fdatasync: the flush of the
    // migrated database (WalSync in openSqliteStore), after it claimed the directory and opened
    // the database, before it closes it and releases the lock. It stays stopped until it is sent
    // SIGCONT, so the window in which it has the database open is certain however long the next
    // `serve` takes to start (seconds on a loaded host: a fixed 1.5 s delay here was not enough).
    const checking = Bun.spawn(["strace", "-f", "-qq", "-o", trace, "-e", "trace=fdatasync", "-e", "signal=SIGSTOP", "-e", "inject=fdatasync:signal=SIGSTOP:when=1", process.execPath, "run", MAIN, "serve", "--check", "--data-dir", data], { stdout: "pipe", stderr: "pipe" });
    const stopped = () => existsSync(trace) && readFileSync(trace, "utf8").includes("--- stopped by SIGSTOP ---");
    await until(() => stopped() || checking.exitCode !== null, "the check to stop at its first flush (or exit)", 20_000);
    // The check itself: strace's one child.
    const parentOf = (p: string) => {
      try {
        return /^PPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1];
      } catch {
        return undefined; // gone meanwhile
      }
    };
    const pid = Number(readdirSync("/proc").find((p) => /^\d+$/.test(p) && parentOf(p) === String(checking.pid)) ?? 0);
    try {
      expect({ stopped: stopped(), exited: checking.exitCode, found: pid > 0, wal: existsSync(join(data, "claudemesh.db-wal")) }).toEqual({ stopped: true, exited: null, found: true, wal: true });
      expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: another broker (PID ${pid}) is serving ${data}; two brokers must not share one database.\n` });
      expect({ exited: checking.exitCode, wal: existsSync(join(data, "claudemesh.db-wal")) }).toEqual({ exited: null, wal: true }); // held it all along
    } finally {
      if (pid > 0) process.kill(pid, "SIGCONT");
      else checking.kill("SIGTERM"); // strace detaches and lets its child run on
    }
    expect(await checking.exited).toBe(0);
    expect(verdict(await new Response(checking.stdout).text())).toBe(`configuration ok; database writable at schema version ${LATEST_VERSION}\n`);
    expect(await serveOnce(data)).toBe("started");
  }, 60_000);
});

describe("the lock decides who holds a data directory, not a PID file", () => {
  test("a PID file left by a dead broker that now names a live `… serve` (or `… restore`) process keeps neither serve, serve --check nor admin restore out", async () => {
    const data = tempDir("cm-serve-stale-");
    // Live processes whose argv holds "serve" / "restore", as after a reboot reused the PIDs.
    const sleeper = (word: string) => Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1 << 30)", word], { stdout: "ignore", stderr: "ignore" });
    const impostor = sleeper("serve");
    const restorer = sleeper("restore");
    try {
      // argv is in /proc once the process has exec'd (before, it is this one's)
      const exec = (p: Bun.Subprocess, word: string) => until(() => readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0").includes(word), `${word}'s exec`);
      await Promise.all([exec(impostor, "serve"), exec(restorer, "restore")]);
      writeFileSync(join(data, "claudemesh.pid"), `${impostor.pid}\n`);
      writeFileSync(join(data, "claudemesh.restore.pid"), `${restorer.pid}\n`);
      expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; database writable at schema version ${LATEST_VERSION}\n` });

      await using broker = await spawnBroker(data);
      // The broker overwrote the stale file with its own PID, and dropped the restore's.
      expect(readFileSync(join(data, "claudemesh.pid"), "utf8")).toBe(`${broker.proc.pid}\n`);
      expect(existsSync(join(data, "claudemesh.restore.pid"))).toBe(false);
      expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: another broker (PID ${broker.proc.pid}) is serving ${data}; two brokers must not share one database.\n` });
      broker.proc.kill("SIGTERM");
      expect(await broker.proc.exited).toBe(0);

      // The same stale file in front of a restore.
      writeFileSync(join(data, "claudemesh.pid"), `${impostor.pid}\n`);
      const backup = await cli(cfg, ["admin", "backup", "--data-dir", data, "--json"]);
      expect(backup.code).toBe(0);
      const restored = await cli(cfg, ["admin", "restore", backup.json().file, "--data-dir", data, "--force"], { timeoutMs: 30_000 });
      expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      impostor.kill("SIGKILL");
      restorer.kill("SIGKILL");
    }
  }, 60_000);

  test("a broker from before the lock (a live `bun run …/main.ts serve` its PID file names, holding no lock) keeps serve, serve --check and admin restore out, and nothing is migrated", async () => {
    const data = tempDir("cm-serve-prelock-");
    oldSchemaDatabase(data, 3);
    const schema = () => {
      const db = new Database(join(data, "claudemesh.db"), { readonly: true });
      try {
        return db.query<{ v: number }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v;
      } finally {
        db.close();
      }
    };
    const backup = await cli(cfg, ["admin", "backup", "--data-dir", data, "--json"]);
    expect(backup.code).toBe(0);
    // As such a broker runs from source: Bun, its main.ts, `serve` and the directory, whose database
    // it holds open; it took no lock.
    const main = oldBrokerMain();
    const old = Bun.spawn([process.execPath, "run", main, "serve", "--data-dir", data], { stdout: "ignore", stderr: "ignore" });
    try {
      await until(() => readFileSync(`/proc/${old.pid}/cmdline`, "utf8").split("\0").includes("serve"), "the old broker's exec");
      writeFileSync(join(data, "claudemesh.pid"), `${old.pid}\n`);
      const held = `a claudemesh broker older than the data directory lock (PID ${old.pid}: ${process.execPath} run ${main} serve --data-dir ${data}) is serving ${data} without holding claudemesh.lock`;
      expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: ${held}; two brokers must not share one database.\n  fix: stop it first (kill ${old.pid}, or systemctl stop claudemesh), then start this version\n` });
      expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; ${held}, so the database was not opened\n` });
      const restored = await cli(cfg, ["admin", "restore", backup.json().file, "--data-dir", data, "--force"], { timeoutMs: 30_000 });
      expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${held.replace(/^a/, "A")}. Stop it first, then restore.\n` });
      expect({ schema: schema(), pidFile: readFileSync(join(data, "claudemesh.pid"), "utf8") }).toEqual({ schema: 3, pidFile: `${old.pid}\n` });
    } finally {
      old.kill("SIGKILL");
      await old.exited;
    }
    // Once it is gone, its PID file is a stale one like any other.
    expect(await serveOnce(data)).toBe("started");
    expect(schema()).toBe(LATEST_VERSION);
  }, 60_000);

  test("a PID file naming a live broker of another directory (its PID reused after a crash) keeps nobody out", async () => {
    const [mine, theirs] = [tempDir("cm-serve-pidreuse-a-"), tempDir("cm-serve-pidreuse-b-")];
    oldSchemaDatabase(theirs, 3);
    const other = Bun.spawn([process.execPath, "run", oldBrokerMain(), "serve", "--data-dir", theirs], { stdout: "ignore", stderr: "ignore" });
    try {
      await until(() => readdirSync(`/proc/${other.pid}/fd`).some((fd) => { try { return readlinkSync(`/proc/${other.pid}/fd/${fd}`).startsWith(realpathSync(theirs)); } catch { return false; } }), "the other broker's database open");
      writeFileSync(join(mine, "claudemesh.pid"), `${other.pid}\n`);
      // Before: refused as "a claudemesh broker older than the data directory lock (PID …) is
      // serving" this directory, with `kill <pid>` as the fix: the other directory's broker.
      expect(await serveOnce(mine)).toBe("started");
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  }, 60_000);

  test("a lock file holding stray bytes is repaired and used; a directory in its place is refused with a clear message", async () => {
    const data = tempDir("cm-serve-badlock-");
    const lock = join(data, "claudemesh.lock");
    writeFileSync(lock, "this is not an SQLite database, and nobody holds a lock on it".repeat(20));
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; database writable at schema version ${LATEST_VERSION}\n` });
    await using broker = await spawnBroker(data);
    expect(statSync(lock).size).toBe(0);
    expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: another broker (PID ${broker.proc.pid}) is serving ${data}; two brokers must not share one database.\n` });
    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);

    const other = tempDir("cm-serve-dirlock-");
    mkdirSync(join(other, "claudemesh.lock"));
    const refused = `${join(other, "claudemesh.lock")} is a directory; claudemesh needs a file there for its lock: move it away and start again.`;
    expect(await serveOnce(other)).toEqual({ code: 65, stderr: `claudemesh serve: cannot start: ${refused}\n` });
    expect(await check(other)).toEqual({ code: 65, stdout: "" });
    expect(readdirSync(other)).toEqual(["claudemesh.lock"]);
  }, 60_000);
});

describe("admin restore holds the lock until the new database is in place", () => {
  test("a serve (or a second restore) started while a restore runs is refused, naming the restore; once it is done, serve opens the restored database", async () => {
    const data = tempDir("cm-restore-lock-");
    await using first = await spawnBroker(data);
    const { owner } = await createTestMesh(first.url);
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    const file = join(tempDir("cm-restore-lock-bk-"), "backup.db");
    expect((await cli(cfg, ["admin", "backup", "--data-dir", data, "--out", file])).code).toBe(0);
    // Some bulk, so the restore (integrity checks, copy) runs long enough to be caught at work.
    const db = new Database(file);
    db.run("CREATE TABLE pad (x BLOB)");
    db.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) INSERT INTO pad SELECT randomblob(3000) FROM c");
    db.close();

    const restore = Bun.spawn([process.execPath, "run", MAIN, "admin", "restore", file, "--data-dir", data, "--force", "--json"], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, CLAUDEMESH_CONFIG_DIR: cfg, CI: "1" },
    });
    const output = Promise.all([new Response(restore.stdout).text(), new Response(restore.stderr).text()]);
    // Freeze the restore as soon as it is visibly at work: its PID file written (not merely
    // created: a stop between the two left it empty, and serve could not name the restore), or
    // its staged copy, which it makes after writing that file.
    const pidWritten = () => {
      try {
        return readFileSync(join(data, "claudemesh.restore.pid"), "utf8").trim() === String(restore.pid);
      } catch {
        return false;
      }
    };
    const atWork = () => pidWritten() || readdirSync(data).some((f) => f.startsWith(".restoring-"));
    const deadline = Date.now() + 30_000;
    while (!atWork() && restore.exitCode === null && Date.now() < deadline) await Bun.sleep(1);
    restore.kill("SIGSTOP");
    try {
      expect({ exited: restore.exitCode, atWork: atWork() }).toEqual({ exited: null, atWork: true });
      const busy = `an admin restore (PID ${restore.pid}) is replacing the database in ${data}`;
      expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: ${busy}; start the broker once it has finished.\n` });
      expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; ${busy}, so the database was not opened\n` });
      const second = await cli(cfg, ["admin", "restore", file, "--data-dir", data, "--force"]);
      expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 5, stderr: `claudemesh: Another restore (PID ${restore.pid}) is replacing the database in ${data}. Wait for it to finish.\n` });
    } finally {
      restore.kill("SIGCONT");
    }
    expect(await restore.exited).toBe(0);
    const [stdout] = await output;
    const { epoch } = JSON.parse(stdout) as { epoch: string };
    expect(readdirSync(data).filter((f) => f.startsWith(".restoring-") || f === "claudemesh.restore.pid")).toEqual([]);

    await using again = await spawnBroker(data);
    const peer = await connect(again.url, owner, {}, { reconnect: false });
    expect(peer.ack.epoch).toBe(epoch);
    peer.close();
  }, 90_000);
});

// A full disk needs a small file system: a tmpfs, mounted in a mount namespace of its own (as
// root, or as a user where unprivileged user namespaces are allowed), so nothing outside sees it
// and it is gone when the namespace ends. Where neither works the test is skipped.
const UNSHARE = process.getuid?.() === 0 ? ["unshare", "--mount"] : ["unshare", "--map-root-user", "--mount"];
const canMountTmpfs = (() => {
  const dir = tempDir("cm-tmpfs-probe-");
  try {
    return Bun.spawnSync([...UNSHARE, "sh", "-c", `mount -t tmpfs -o size=1m tmpfs '${dir}'`], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false; // no unshare
  }
})();

describe("serve on a full disk", () => {
  test.skipIf(!canMountTmpfs)("says the disk is full (for a new data directory and for an existing one), exits 1 and leaves no PID file", async () => {
    const seed = tempDir("cm-full-seed-");
    await using b = await spawnBroker(seed);
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
    const root = tempDir("cm-full-");
    const mnt = join(root, "mnt");
    const out = join(root, "out");
    mkdirSync(mnt);
    mkdirSync(out);
    // An existing directory after a crash: its PID file is still there (the broker's restart
    // reuses its blocks), so the start gets as far as SQLite, which cannot create its -shm.
    const serve = (dir: string, name: string, flag = "") =>
      `timeout 30 '${process.execPath}' run '${MAIN}' serve ${flag} --port 0 --data-dir '${dir}' >'${out}/${name}.out' 2>'${out}/${name}.err'; echo $? >'${out}/${name}.code'; ls -A '${dir}' >'${out}/${name}.ls'`;
    const script = [
      "set -e",
      `mount -t tmpfs -o size=2m tmpfs '${mnt}'`,
      `cp -R '${seed}' '${mnt}/used'`,
      `echo 2147483646 >'${mnt}/used/claudemesh.pid'`,
      `head -c 4000000 /dev/zero >'${mnt}/filler' 2>/dev/null || true`,
      "set +e",
      serve(`${mnt}/new`, "new"),
      serve(`${mnt}/used`, "used"),
      serve(`${mnt}/used`, "check", "--check"),
    ].join("\n");
    const ns = Bun.spawnSync([...UNSHARE, "sh", "-c", script], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" }, stderr: "pipe" });
    expect({ code: ns.exitCode, stderr: ns.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    const result = (name: string) => ({
      code: Number(readFileSync(join(out, `${name}.code`), "utf8")),
      stderr: readFileSync(join(out, `${name}.err`), "utf8"),
      files: readFileSync(join(out, `${name}.ls`), "utf8").split("\n").filter((f) => f.startsWith("claudemesh.")),
    });
    const full = (dir: string) => `the disk holding ${dir} is full: free space there, then start again`;
    expect(result("new")).toEqual({ code: 1, stderr: `claudemesh serve: cannot start: ${full(`${mnt}/new`)}\n`, files: ["claudemesh.lock"] });
    expect(result("used")).toEqual({ code: 1, stderr: `claudemesh serve: cannot start: ${full(`${mnt}/used`)}\n`, files: expect.not.arrayContaining(["claudemesh.pid"]) });
    expect(result("check")).toMatchObject({ code: 1, stderr: `claudemesh serve: cannot open the database in ${mnt}/used: ${full(`${mnt}/used`)}\n` });
  }, 90_000);
});
