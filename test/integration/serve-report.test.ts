// What `serve --check` and `serve` say (docs/operations.md "Settings", "Upgrading"): the check
// shows the data directory, the listen address, the public URL and every setting with where it
// came from (also as --json); a migration is said, with the copy taken before it (it was silent);
// a database from a newer claudemesh is refused without leaving a -wal or -shm behind; the banner
// gives the public URL for the dashboard, API docs and websocket; `serve` refuses a damaged
// database at start as the check does (it answered ready); log levels are taken in any case.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { tempDir } from "../helpers/broker.ts";
import { cli, cliEnv, until } from "../helpers/cli.ts";
import { oldSchemaDatabase } from "../helpers/old-schema.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";

const cfg = tempDir("cm-serve-report-cfg-");

/** `claudemesh serve …` to its exit (killed after 20 s: a serve that should have refused). */
const serve = (args: string[], env: Record<string, string> = {}) => cli(cfg, ["serve", ...args], { env });

const checked = (dataDir: string) => serve(["--check", "--port", "0", "--data-dir", dataDir]);

describe("serve --check shows what it checked", () => {
  test("every setting with its value and source (flag, variable, file, default); --json the same", async () => {
    const dataDir = tempDir("cm-serve-report-data-");
    const file = join(tempDir("cm-serve-report-file-"), "broker.json");
    writeFileSync(file, JSON.stringify({ host: "127.0.0.1", topicHistory: 500 }));
    const args = ["--check", "--config", file, "--data-dir", dataDir, "--public-url", "https://mesh.example.com"];
    const env = { CLAUDEMESH_PORT: "0", CLAUDEMESH_LOG_LEVEL: "DEBUG" };
    const r = await serve(args, env);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 4)).toEqual([`data dir    ${dataDir}`, "listen      127.0.0.1:0", "public URL  https://mesh.example.com", "settings (value, then where it came from):"]);
    const row = (key: string) => lines.find((l) => l.startsWith(`  ${key} `))?.trim().split(/\s{2,}/);
    expect(["host", "port", "dataDir", "logLevel", "topicHistory", "messageTtl", "trustedProxies"].map(row)).toEqual([
      ["host", "127.0.0.1", file],
      ["port", "0", "CLAUDEMESH_PORT"],
      ["dataDir", dataDir, "--data-dir"],
      ["logLevel", "debug", "CLAUDEMESH_LOG_LEVEL"],
      ["topicHistory", "500", file],
      ["messageTtl", "7d", "default"],
      ["trustedProxies", "(none)", "default"],
    ]);
    expect(lines.at(-2)).toBe(`configuration ok; database writable at schema version ${LATEST_VERSION}`);

    const json = await serve([...args, "--json"], env);
    const out = JSON.parse(json.stdout);
    expect({ code: json.code, ok: out.ok, dataDir: out.dataDir, listen: out.listen, publicUrl: out.publicUrl, database: out.database }).toEqual({
      code: 0,
      ok: true,
      dataDir,
      listen: "127.0.0.1:0",
      publicUrl: "https://mesh.example.com",
      database: { writable: true, schemaVersion: LATEST_VERSION, quickCheck: "ok", auditChains: { meshes: 0, entries: 0 }, migration: null },
    });
    expect([out.settings.port, out.settings.host, out.settings.messageTtl, out.settings.logLevel]).toEqual([
      { value: 0, source: "env", from: "CLAUDEMESH_PORT" },
      { value: "127.0.0.1", source: "file", from: file },
      { value: 604_800_000, source: "default", from: "default" },
      { value: "debug", source: "env", from: "CLAUDEMESH_LOG_LEVEL" },
    ]);
  }, 60_000);
});

describe("unknown CLAUDEMESH_* variables are named", () => {
  // A typo in /etc/default/claudemesh left the broker on its default without a word.
  const typo = "CLAUDEMESH_PROT is set but is not a claudemesh variable, so it is ignored (did you mean CLAUDEMESH_PORT?)";
  test("serve --check warns on stderr (and lists them in --json); serve logs a warning", async () => {
    const dataDir = tempDir("cm-serve-report-env-");
    const env = { CLAUDEMESH_PROT: "80", CLAUDEMESH_INSTALL_DIR: "/opt/bin" }; // the second is install.sh's
    const r = await serve(["--check", "--port", "0", "--data-dir", dataDir], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: `claudemesh serve: warning: ${typo}.\n` });
    const json = await serve(["--check", "--json", "--port", "0", "--data-dir", dataDir], env);
    expect(JSON.parse(json.stdout).unknownEnvironment).toEqual([{ name: "CLAUDEMESH_PROT", didYouMean: "CLAUDEMESH_PORT" }]);

    await using served = serveProcess(["--port", "0", "--data-dir", dataDir], { env: cliEnv(cfg, env) });
    await served.waitFor(/"broker listening"/);
    served.proc.kill("SIGTERM");
    expect(await served.proc.exited).toBe(0);
    await served.ended;
    const warned = served.stderr().split("\n").filter((l) => l.includes("not a claudemesh variable")).map((l) => JSON.parse(l));
    expect(warned).toEqual([expect.objectContaining({ level: "warn", msg: typo, name: "CLAUDEMESH_PROT", didYouMean: "CLAUDEMESH_PORT" })]);
  }, 60_000);
});

describe("migrations are said", () => {
  test("serve --check: 'migrated from schema 3 to 4; the previous database is saved at …'", async () => {
    const dataDir = tempDir("cm-serve-report-old-");
    oldSchemaDatabase(dataDir, 3);
    const r = await checked(dataDir);
    const copy = join(dataDir, "backups", readdirSync(join(dataDir, "backups"))[0] ?? "none");
    expect({ code: r.code, tail: r.stdout.trimEnd().split("\n").slice(-2) }).toEqual({
      code: 0,
      tail: [`migrated from schema 3 to ${LATEST_VERSION}; the previous database is saved at ${copy}`, `configuration ok; database writable at schema version ${LATEST_VERSION}`],
    });
    expect(existsSync(copy)).toBe(true);
  }, 60_000);

  test("serve: a JSON log line with the versions and the copy", async () => {
    const dataDir = tempDir("cm-serve-report-old-");
    oldSchemaDatabase(dataDir, 3);
    await using broker = await spawnBroker(dataDir);
    const line = broker.stderr().split("\n").find((l) => l.includes('"database migrated"'));
    const copy = join(dataDir, "backups", readdirSync(join(dataDir, "backups"))[0] ?? "none");
    expect(line && JSON.parse(line)).toMatchObject({ level: "info", msg: "database migrated", from: 3, to: LATEST_VERSION, backup: copy });
  }, 60_000);
});

describe("refusals leave the data directory as they found it", () => {
  test("a database from a newer claudemesh: no -wal or -shm left by serve or serve --check", async () => {
    const dataDir = tempDir("cm-serve-report-newer-");
    expect((await checked(dataDir)).code).toBe(0);
    const db = new Database(join(dataDir, "claudemesh.db"));
    db.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, '0099_future.sql', 'x', 0)");
    db.close();
    const before = readdirSync(dataDir).toSorted();
    for (const args of [["--check"], []]) {
      const r = await serve([...args, "--port", "0", "--data-dir", dataDir]);
      expect({ code: r.code, said: r.stderr.includes("written by a newer claudemesh (schema version 99"), files: readdirSync(dataDir).toSorted() }).toEqual({ code: 65, said: true, files: before });
    }
  }, 60_000);
});

describe("serve at start", () => {
  test("the banner gives the public URL for the dashboard, API docs and websocket; health stays the local address", async () => {
    await using broker = await spawnBroker(tempDir("cm-serve-report-banner-"), ["--public-url", "https://mesh.example.com/team/"]);
    await until(() => broker.stderr().includes("Operator token"), "the first-run banner");
    const lines = broker.stderr().split("\n");
    const line = (label: string) => lines.find((l) => l.startsWith(`  ${label} `))?.trim();
    expect(["dashboard", "API docs", "websocket", "health"].map(line)).toEqual([
      "dashboard  https://mesh.example.com/team/",
      "API docs   https://mesh.example.com/team/docs",
      "websocket  wss://mesh.example.com/team/ws",
      `health     ${broker.url}/health/ready`,
    ]);
  }, 60_000);

  test("a damaged page the start does not read: serve refuses it with quick_check's findings, as --check does", async () => {
    const dataDir = tempDir("cm-serve-report-damaged-");
    expect((await checked(dataDir)).code).toBe(0);
    const path = join(dataDir, "claudemesh.db");
    const db = new Database(path);
    db.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) INSERT INTO audit_log SELECT 'm', i, 'e', NULL, hex(randomblob(100)), 't', 'p', 'h' FROM c");
    const page = db.query<{ pageno: number }, []>("SELECT pageno FROM dbstat WHERE name = 'audit_log' AND pagetype = 'leaf' LIMIT 1 OFFSET 10").get()!.pageno;
    db.close();
    const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
    bytes.set([0x0d, 0, 0, 0, 0x50, ...Array(40).fill(0xee)], (page - 1) * 4096);
    await Bun.write(path, bytes);
    const r = await serve(["--port", "0", "--data-dir", dataDir]);
    expect({ code: r.code, stderr: r.stderr.split("\n").find((l) => l.startsWith("claudemesh serve:")) }).toEqual({
      code: 65,
      stderr: expect.stringMatching(new RegExp(`^claudemesh serve: cannot start: the database in ${dataDir} is damaged \\(SQLite quick_check: .*page ${page}.*\\); restore a backup \\(claudemesh admin restore FILE --force --data-dir ${dataDir}\\)$`)),
    });
  }, 60_000);
});
