// Run as root on a data directory that belongs to the broker's own user (systemd's User=): what
// claudemesh makes there is that user's (src/local-file/owner.ts), so the service's nightly
// backup, the backup taken before a migration and the broker itself keep working after
// `sudo claudemesh admin backup`, `serve --check` or `admin restore`; `serve` itself refuses to
// run as root there. A backups/ an older claudemesh left root's is named, with the chown that
// gives it back. Linux, as root, with setpriv (the service user is an unused uid).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { oldSchemaDatabase } from "../helpers/old-schema.ts";
import { canSwitchUser, owners, run, serviceBroker, serviceDir, SERVICE_UID as U } from "../helpers/service-user.ts";

const check = (dataDir: string) => ["serve", "--check", "--port", "0", "--data-dir", dataDir];
const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);

describe.skipIf(!canSwitchUser)("as root on the service user's data directory", () => {
  test("admin backup as root leaves backups/ to the service user: its own cron backup and its broker still work", async () => {
    const { dataDir, home } = serviceDir();
    expect((await run("service", check(dataDir), home)).code).toBe(0);
    const byRoot = await run("root", ["admin", "backup", "--data-dir", dataDir, "--json"], home);
    expect(byRoot.code).toBe(0);
    const name = basename(byRoot.json().file);
    expect(owners(dataDir)).toEqual({ backups: U, [`backups/${name}`]: U, "claudemesh.db": U, "claudemesh.lock": U });
    const cron = await run("service", ["admin", "backup", "--data-dir", dataDir, "--json"], home);
    expect({ code: cron.code, stderr: cron.stderr }).toEqual({ code: 0, stderr: "" });
    await using _ = await serviceBroker(dataDir, home);
  }, 90_000);

  test("a backup as root whose audit chain does not verify keeps its copy as .partial, the service user's like any backup", async () => {
    const { dataDir, home } = serviceDir();
    expect((await run("service", check(dataDir), home)).code).toBe(0);
    // An audit entry of no mesh: a chain that does not verify, written as someone with the file could.
    const db = new Database(join(dataDir, "claudemesh.db"));
    db.run("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES ('ghost', 1, 'mesh_created', NULL, '{}', '2030-01-01T00:00:00.000Z', 'genesis', 'x')");
    db.close();
    const byRoot = await run("root", ["admin", "backup", "--data-dir", dataDir], home);
    const kept = byRoot.stderr.match(/kept as \S+\/(claudemesh-\S+\.db\.partial) for inspection/)?.[1];
    expect({ code: byRoot.code, owners: owners(dataDir) }).toEqual({ code: 5, owners: { backups: U, [`backups/${kept}`]: U, "claudemesh.db": U, "claudemesh.lock": U } });
  }, 60_000);

  test("serve --check as root migrates the service user's database and leaves every file it made to that user", async () => {
    const { dataDir, home } = serviceDir();
    oldSchemaDatabase(dataDir, 3);
    chownSync(join(dataDir, "claudemesh.db"), U, U);
    const r = await run("root", check(dataDir), home);
    expect({ code: r.code, last: lastLine(r.stdout) }).toEqual({ code: 0, last: `configuration ok; database writable at schema version ${LATEST_VERSION}` });
    const copy = readdirSync(join(dataDir, "backups"))[0]!;
    expect(owners(dataDir)).toEqual({ backups: U, [`backups/${copy}`]: U, "claudemesh.db": U, "claudemesh.lock": U });
    await using _ = await serviceBroker(dataDir, home);
  }, 90_000);

  test("a data directory serve --check makes as root inside the service user's directory is that user's, with the parents it made", async () => {
    const { dataDir: parent, home } = serviceDir();
    const dataDir = join(parent, "new", "data");
    expect((await run("root", check(dataDir), home)).code).toBe(0);
    expect(owners(parent)).toEqual({ new: U, "new/data": U, "new/data/claudemesh.db": U, "new/data/claudemesh.lock": U });
  }, 60_000);

  test("serve as root refuses the service user's directory, names the user to run it as, and creates nothing", async () => {
    const { dataDir, home } = serviceDir();
    const r = await run("root", ["serve", "--port", "0", "--data-dir", dataDir], home, { timeoutMs: 20_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 77,
      stderr:
        `claudemesh serve: cannot start as root: ${dataDir} belongs to uid ${U}, and a broker run as root would leave files there that its owner cannot open\n` +
        `  fix: run the broker as that user: sudo -u '#${U}' claudemesh serve --port 0 --data-dir ${dataDir} (under systemd: systemctl start claudemesh)\n`,
    });
    expect(readdirSync(dataDir)).toEqual([]);
  }, 60_000);

  test("a backups/ root kept: the migration names it with the chown that gives it back, and root's next admin command gives it back", async () => {
    const { dataDir, home } = serviceDir();
    oldSchemaDatabase(dataDir, 3);
    chownSync(join(dataDir, "claudemesh.db"), U, U);
    mkdirSync(join(dataDir, "backups"), { mode: 0o700 }); // root's, as `sudo claudemesh admin backup` left it before
    const refused = await run("service", check(dataDir), home);
    const backups = join(dataDir, "backups");
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 77,
      stderr: expect.stringMatching(
        new RegExp(
          `^claudemesh serve: cannot open the database in ${dataDir}: cannot write the backup taken before migrating ${backups}/pre-migrate-v3-\\d+\\.db: ` +
            `permission denied \\(${backups} belongs to uid 0, mode 700; claudemesh runs as uid ${U}\\)\\.\\n  fix: chown -R ${U}:${U} ${backups} \\(as root\\), so that the user that runs the broker can write in it, then start again\\n$`,
        ),
      ),
    });
    expect((await run("root", ["admin", "token", "--data-dir", dataDir], home)).code).toBe(0);
    const migrated = await run("service", check(dataDir), home);
    expect({ code: migrated.code, stdout: migrated.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`\\nmigrated from schema 3 to ${LATEST_VERSION}; the previous database is saved at ${backups}/pre-migrate-v3-\\d+\\.db\\n`)) });
  }, 90_000);

  test("restore as root into the service user's empty directory: the lock file is that user's too, and its broker starts", async () => {
    const source = serviceDir();
    expect((await run("service", check(source.dataDir), source.home)).code).toBe(0);
    const file = join(source.dataDir, "claudemesh.db");
    const { dataDir, home } = serviceDir();
    const r = await run("root", ["admin", "restore", file, "--data-dir", dataDir], home);
    expect(r.code).toBe(0);
    expect(owners(dataDir)).toEqual({ "claudemesh.db": U, "claudemesh.lock": U });
    await using _ = await serviceBroker(dataDir, home);
  }, 90_000);
});
