// What the real `claudemesh serve` does before it listens (src/cli/commands/serve.ts, src/config/;
// docs/operations.md "Settings" and "Signals and shutdown"). A mistyped flag, an empty flag value,
// a host or publicUrl that is not one stops it with one line and exit 2, before it touches the
// data directory: before, `--prot 80` ran on the default port, `"host": ""` listened on every
// interface and `--check` passed a host the start then failed on. A SIGTERM while it is still
// starting exits 0, where it used to kill it with 143.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { uptime } from "node:os";
import { join } from "node:path";
import { BOOT_SETTLE_S, ServeExit } from "../../src/cli/serve-problems.ts";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";

const cfg = tempDir("cm-serve-start-cfg-");
const files = tempDir("cm-serve-start-files-");
const emptyHost = join(files, "empty-host.json");
writeFileSync(emptyHost, JSON.stringify({ host: "", port: 0 }));

/** Runs `serve` on a fresh data directory; returns its exit code, stderr and whether it left
 *  anything in the data directory (a refusal must not). */
async function serve(args: string[]) {
  const data = tempDir("cm-serve-start-");
  const r = await cli(cfg, ["serve", "--data-dir", data, ...args], { timeoutMs: 10_000 });
  return { code: r.code, stderr: r.stderr, touched: readdirSync(data).length > 0 };
}

const HELP = "\n  fix: see `claudemesh serve --help`";
const IP_OR_NAME = "expected an IP address (127.0.0.1, 0.0.0.0, ::) or a hostname";

describe("serve refuses a bad command line or setting with exit 2", () => {
  test.each([
    [["--check", "--prot", "80"], `Unknown option --prot (did you mean --port?).${HELP}`],
    [["--port", "0", "--prot", "80"], `Unknown option --prot (did you mean --port?).${HELP}`],
    [["--check", "--port", ""], `--port needs a value.${HELP}`],
    [["--check", "--max-frame-bytes", "5"], 'maxFrameBytes from --max-frame-bytes: must be an integer in [1024, 1048576] (got "5")'],
    // A duration's range in the units docs/operations.md uses (first-run review L4).
    [["--check", "--message-ttl", "5"], 'messageTtl from --message-ttl: 5 ms is below the minimum of 1s (a number without a unit is milliseconds); write 5s (got "5")'],
    [["--check", "--host", "not a host"], `host from --host: ${IP_OR_NAME} (got "not a host")`],
    [["--check", "--config", emptyHost], `host from ${emptyHost}: empty, which would listen on every interface; ${IP_OR_NAME} (got "")`],
    [["--config", emptyHost], `host from ${emptyHost}: empty, which would listen on every interface; ${IP_OR_NAME} (got "")`],
    [["--check", "--public-url", "mesh.example.com"], 'publicUrl from --public-url: not an absolute URL; give the scheme and host, e.g. https://mesh.example.com (got "mesh.example.com")'],
  ])("serve %p", async (args, message) => {
    expect(await serve(args)).toEqual({ code: 2, stderr: `claudemesh serve: ${message}\n`, touched: false });
  }, 15_000);

  test("a data directory that is a file, or an empty dataDir in the config file, is a bad setting (exit 2)", async () => {
    // They failed with a raw EEXIST (exit 1), and "" silently meant the default directory.
    const plain = join(files, "not-a-dir");
    writeFileSync(plain, "");
    const onFile = await cli(cfg, ["serve", "--port", "0", "--data-dir", plain], { timeoutMs: 10_000 });
    expect({ code: onFile.code, stderr: onFile.stderr }).toEqual({ code: 2, stderr: `claudemesh serve: dataDir from --data-dir: ${plain} is not a directory (got ${JSON.stringify(plain)})\n` });
    const emptyDataDir = join(files, "empty-data-dir.json");
    writeFileSync(emptyDataDir, JSON.stringify({ dataDir: "", port: 0 }));
    const empty = await cli(cfg, ["serve", "--config", emptyDataDir], { timeoutMs: 10_000 });
    expect({ code: empty.code, stderr: empty.stderr }).toEqual({ code: 2, stderr: `claudemesh serve: dataDir from ${emptyDataDir}: empty; leave the key out for the default directory (got "")\n` });
  }, 15_000);

  test("a hostname that does not resolve: serve and serve --check say so alike, exit 2 past boot, and touch nothing", async () => {
    // serve printed Bun's bare "Failed to listen at nonexistent.invalid" (exit 1), and with --port 0
    // blamed the data directory ("cannot write the data directory … (EINVAL)") after making the
    // database in it. .invalid never resolves (RFC 6761).
    const code = uptime() < BOOT_SETTLE_S ? ServeExit.mayPass : ServeExit.badSetting;
    const said = 'host "nonexistent.invalid" does not resolve (ENOTFOUND); the broker could not listen on it\n  fix: set host (--host, CLAUDEMESH_HOST) to a name that resolves or to an address this machine has: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone';
    for (const [args, lead] of [[["--check"], ""], [["--port", "0"], "cannot start: "], [[], "cannot start: "]] as const) {
      const r = await serve([...args, "--host", "nonexistent.invalid"]);
      expect({ code: r.code, touched: r.touched }).toEqual({ code, touched: false });
      expect(r.stderr).toStartWith(`claudemesh serve: ${lead}${said}`);
    }
    expect(await serve(["--check", "--host", "localhost"])).toMatchObject({ code: 0, stderr: "" });
  }, 30_000);

  test("serve --check runs SQLite's quick_check: a damaged page fails the check (exit 65, not restarted) and says to restore a backup", async () => {
    const data = tempDir("cm-serve-damaged-");
    expect((await cli(cfg, ["serve", "--data-dir", data, "--check", "--port", "0"])).code).toBe(0);
    // Overwrite the root page of an index that opening, migrating and the write probe never read.
    const path = join(data, "claudemesh.db");
    const db = new Database(path);
    const { rootpage } = db.query<{ rootpage: number }, []>("SELECT rootpage FROM sqlite_master WHERE name = 'sessions_member'").get()!;
    const pageSize = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!.page_size;
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(pageSize, 0xff), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    const r = await cli(cfg, ["serve", "--data-dir", data, "--check", "--port", "0"], { timeoutMs: 10_000 });
    expect(r.code).toBe(65);
    expect(r.stderr).toStartWith(`claudemesh serve: the database in ${data} is damaged (SQLite quick_check: `);
    expect(r.stderr).toContain(`restore a backup (claudemesh admin restore FILE --force --data-dir ${data})`);
  }, 15_000);

  test("a data directory whose database is not a SQLite file: the check says so and to restore a backup into that directory", async () => {
    const notADatabase = (data: string) => writeFileSync(join(data, "claudemesh.db"), "this is not a database\n".repeat(200), { mode: 0o600 });
    const said = (data: string, restore: string) => `claudemesh serve: cannot open the database in ${data}: ${join(data, "claudemesh.db")} is damaged or not a claudemesh database (file is not a database): restore a backup (${restore})\n`;
    const data = tempDir("cm-serve-notadb-");
    notADatabase(data);
    const r = await cli(cfg, ["serve", "--data-dir", data, "--check", "--port", "0"], { timeoutMs: 10_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 65, stderr: said(data, `claudemesh admin restore FILE --force --data-dir ${data}`) });
    // The default directory needs no --data-dir: the command works as printed.
    const xdg = tempDir("cm-serve-notadb-xdg-");
    const defaultDir = join(xdg, "claudemesh");
    mkdirSync(defaultDir, { mode: 0o700 });
    notADatabase(defaultDir);
    const d = await cli(cfg, ["serve", "--check", "--port", "0"], { timeoutMs: 10_000, env: { XDG_DATA_HOME: xdg } });
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 65, stderr: said(defaultDir, "claudemesh admin restore FILE --force") });
  }, 15_000);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("runuser"))("a database another user owns (a restore run as root): the message names both users and the fix", async () => {
    const parent = tempDir("cm-serve-owner-");
    chmodSync(parent, 0o755); // so that nobody can reach the data directory in it
    const data = join(parent, "data");
    expect((await cli(cfg, ["serve", "--data-dir", data, "--check", "--port", "0"])).code).toBe(0);
    Bun.spawnSync(["chown", "-R", "nobody", data]);
    Bun.spawnSync(["chown", "root", join(data, "claudemesh.db")]);
    const main = join(import.meta.dir, "../../src/main.ts");
    const r = Bun.spawnSync(["runuser", "-u", "nobody", "--", process.execPath, "run", main, "serve", "--check", "--data-dir", data, "--port", "0"], { env: { ...process.env, HOME: parent } });
    expect(r.exitCode).toBe(77);
    const stderr = r.stderr.toString();
    expect(stderr).toContain(`${join(data, "claudemesh.db")} belongs to uid 0, mode 600; this process runs as uid `);
    expect(stderr).toContain("Run the broker as the user that owns its data directory, or give that user the files (chown -R).");
  }, 15_000);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("runuser"))("the broker's own database with a mode that shuts it out: the fix is chmod, not another user", async () => {
    const parent = tempDir("cm-serve-mode-");
    chmodSync(parent, 0o755);
    const data = join(parent, "data");
    expect((await cli(cfg, ["serve", "--data-dir", data, "--check", "--port", "0"])).code).toBe(0);
    Bun.spawnSync(["chown", "-R", "nobody", data]);
    chmodSync(join(data, "claudemesh.db"), 0o000);
    const main = join(import.meta.dir, "../../src/main.ts");
    const r = Bun.spawnSync(["runuser", "-u", "nobody", "--", process.execPath, "run", main, "serve", "--check", "--data-dir", data, "--port", "0"], { env: { ...process.env, HOME: parent } });
    expect(r.exitCode).toBe(77);
    const nobody = Number(Bun.spawnSync(["id", "-u", "nobody"]).stdout.toString().trim());
    expect(r.stderr.toString()).toContain(`${join(data, "claudemesh.db")} is this user's (uid ${nobody}), mode 000. Give it back read and write access: chmod 600 ${join(data, "claudemesh.db")}, chmod 700 ${data}.`);
  }, 15_000);

  test("an address no interface of this machine has is a setting to fix: exit 2 (not restarted) past boot, with the addresses to use; --check says the same", async () => {
    // 192.0.2.1 (TEST-NET-1, RFC 5737): no interface has it (a CI container may have 192.0.2.2).
    const code = uptime() < BOOT_SETTLE_S ? ServeExit.mayPass : ServeExit.badSetting;
    // With --port 0 the start skipped the listen check and blamed the data directory ("cannot write
    // the data directory … (EADDRNOTAVAIL)", exit 1) after making the database in it.
    const said = (port: number) => `cannot listen on 192.0.2.1:${port}: no interface of this machine has that address\n  fix: set host (--host, CLAUDEMESH_HOST) to an address this machine has: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone, or one of `;
    for (const [args, lead, port] of [[["--check"], "", 7900], [[], "cannot start: ", 7900], [["--port", "0"], "cannot start: ", 0]] as const) {
      const r = await serve([...args, "--host", "192.0.2.1"]);
      expect({ code: r.code, touched: r.touched }).toEqual({ code, touched: false });
      expect(r.stderr).toStartWith(`claudemesh serve: ${lead}${said(port)}`);
      expect(r.stderr).toContain("127.0.0.1");
    }
  }, 30_000);

  test("serve --check listens for a moment: a port in use fails the check (exit 1), as the start would", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      // Before anything is made in the data directory: it used to be locked (a lock file left) first.
      expect(await serve(["--check", "--port", String(taken.port)])).toEqual({ code: 1, stderr: `claudemesh serve: port ${taken.port} on 127.0.0.1 is already in use by another process; stop it, or choose another port with --port\n`, touched: false });
    } finally {
      taken.stop(true);
    }
  }, 15_000);

  test("serve on a port in use says so in one line (exit 1) and leaves no data directory behind", async () => {
    // It printed Bun's "Failed to start server. Is port N in use?" after creating and migrating a
    // database in the new directory.
    const data = join(tempDir("cm-serve-start-port-"), "new-data");
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await cli(cfg, ["serve", "--data-dir", data, "--port", String(taken.port)], { timeoutMs: 10_000 });
      expect({ code: r.code, stderr: r.stderr, dataDir: existsSync(data) }).toEqual({
        code: 1,
        stderr: `claudemesh serve: cannot start: port ${taken.port} on 127.0.0.1 is already in use by another process; stop it, or choose another port with --port\n`,
        dataDir: false,
      });
    } finally {
      taken.stop(true);
    }
  }, 15_000);
});

describe("a signal while serve starts", () => {
  test("SIGTERM while serve reads its config file stops it with exit 0, before it claims the data directory", async () => {
    const dir = tempDir("cm-serve-start-sig-");
    const data = join(dir, "data");
    const fifo = join(dir, "config.json");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const proc = Bun.spawn([process.execPath, "run", join(import.meta.dir, "../../src/main.ts"), "serve", "--port", "0", "--data-dir", data, "--config", fifo], {
      stdout: "ignore",
      stderr: "pipe",
      env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" },
    });
    // Opening a FIFO for writing waits for its reader: serve is then inside its config read.
    const writer = await open(fifo, "w");
    proc.kill("SIGTERM");
    await writer.writeFile("{}");
    await writer.close();
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stderr).text()).toMatch(/^\{[^\n]*"msg":"stopped before start","signal":"SIGTERM"\}\n$/);
    expect(existsSync(join(data, "claudemesh.pid"))).toBe(false);
  }, 15_000);
});
