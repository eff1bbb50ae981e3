// backup/restore: the whole local config sealed with a passphrase (Argon2id + XChaCha20-Poly1305).
// A restore on a fresh machine gives back the same identity; a wrong passphrase or a changed file
// writes nothing. Argon2id at MODERATE cost takes ~1.5 s per call, so the cases here are few.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, cliTeam } from "../helpers/cli.ts";

const PASS = "correct horse battery staple\n";
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe("cli backup", () => {
  test("backup, then restore into a fresh config dir gives the same identity; bad inputs write nothing", async () => {
    await using b = await startBroker();
    await using ids = identities(3);
    const [alice, fresh, wrong] = ids.dirs as [string, string, string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const file = join(ids.root, "alice.cmbk");

    const short = await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: "too short\n" });
    expect({ code: short.code, stderr: short.stderr, exists: existsSync(file) }).toEqual({ code: 2, stderr: expect.stringContaining("at least 12 characters"), exists: false });

    const backup = await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS });
    expect({ code: backup.code, stdout: backup.stdout }).toEqual({ code: 0, stdout: `Backed up 1 mesh identity to ${file}. Keep the passphrase: without it the file cannot be opened.\n` });
    expect(mode(file)).toBe("600");
    expect(readFileSync(file).includes((JSON.parse(readFileSync(join(alice, "config.json"), "utf8")) as { meshes: { secretKey: string }[] }).meshes[0]!.secretKey)).toBe(false);

    const restore = await cli(fresh, ["restore", file, "--passphrase-stdin", "--force", "--json"], { stdin: PASS });
    expect({ code: restore.code, json: restore.json() }).toEqual({ code: 0, json: { restored: ["team-x"], notInBackup: [], keptKeys: [], previousConfig: null } });
    const [mine, theirs] = await Promise.all([cli(alice, ["whoami", "--json"]), cli(fresh, ["whoami", "--json"])]);
    expect({ codes: [mine.code, theirs.code], restored: theirs.json() }).toEqual({ codes: [0, 0], restored: mine.json() });
    expect(mine.json().identities).toHaveLength(1);
    expect({ dir: mode(fresh), config: mode(join(fresh, "config.json")) }).toEqual({ dir: "700", config: "600" });
    expect(JSON.parse(readFileSync(join(fresh, "config.json"), "utf8"))).toEqual(JSON.parse(readFileSync(join(alice, "config.json"), "utf8")));
    // The restored identity is usable: the broker accepts it.
    const peers = await cli(fresh, ["peers", "--json"]);
    expect({ code: peers.code, names: peers.json().peers.map((p: any) => p.displayName) }).toEqual({ code: 0, names: ["alice"] });

    const bad = await cli(wrong, ["restore", file, "--passphrase-stdin", "--force"], { stdin: "wrong horse battery staple\n" });
    expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr, written: existsSync(wrong) }).toEqual({ code: 3, stdout: "", stderr: "claudemesh: Wrong passphrase, or the backup file was modified or truncated.\n", written: false });

    const missing = await cli(wrong, ["restore", join(ids.root, "no-such.cmbk"), "--passphrase-stdin"], { stdin: PASS });
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 4, stderr: expect.stringContaining(`No such file: ${join(ids.root, "no-such.cmbk")}. Give the path of a backup`) });

    const bytes = readFileSync(file);
    bytes[bytes.length - 40]! ^= 0x01;
    const flippedFile = join(ids.root, "flipped.cmbk");
    writeFileSync(flippedFile, bytes);
    // Even with --force, a changed file leaves an existing config exactly as it was.
    const before = readFileSync(join(alice, "config.json"), "utf8");
    const flipped = await cli(alice, ["restore", flippedFile, "--passphrase-stdin", "--force", "--json"], { stdin: PASS });
    expect({ code: flipped.code, json: flipped.json(), config: readFileSync(join(alice, "config.json"), "utf8") }).toEqual({
      code: 3,
      json: { error: { code: "unauthorized", message: "Wrong passphrase, or the backup file was modified or truncated." } },
      config: before,
    });
  }, 60_000);

  test("restore --force names the meshes the backup lacks and keeps the config it replaced", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const file = join(ids.root, "alice.cmbk");
    ok(await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS }));
    const lab = ok(await cli(alice, ["new", "Lab", "--broker", b.url, "--display-name", "alice", "--json"])).json();
    const before = readFileSync(join(alice, "config.json"), "utf8");
    // Without --force: refused by state (exit 5, as README's exit codes say), nothing replaced.
    const refused = await cli(alice, ["restore", file, "--passphrase-stdin", "--json"], { stdin: PASS });
    expect({ code: refused.code, error: refused.json().error.code, same: readFileSync(join(alice, "config.json"), "utf8") === before }).toEqual({ code: 5, error: "conflict", same: true });
    const r = await cli(alice, ["restore", file, "--passphrase-stdin", "--force", "--json"], { stdin: PASS });
    const out = r.json();
    expect({ code: r.code, json: out }).toEqual({ code: 0, json: { restored: ["team-x"], notInBackup: [{ slug: "lab", meshId: lab.mesh.id, role: "owner" }], keptKeys: [], previousConfig: expect.stringMatching(/config\.json\.before-restore-\d+$/) } });
    expect({ content: readFileSync(out.previousConfig, "utf8"), mode: mode(out.previousConfig) }).toEqual({ content: before, mode: "600" });
    const human = await cli(alice, ["restore", file, "--passphrase-stdin", "--force"], { stdin: PASS });
    expect(human.stdout).toContain("The config it replaced is kept as ");
    expect(human.stdout).not.toContain("Not in the backup"); // lab was dropped by the first restore
  }, 60_000);

  test("backup refuses to overwrite without --force", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const file = join(team.root, "existing.cmbk");
    writeFileSync(file, "keep me");
    const r = await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS });
    expect({ code: r.code, stderr: r.stderr, content: readFileSync(file, "utf8") }).toEqual({ code: 5, stderr: expect.stringContaining("exists; choose another name or pass --force"), content: "keep me" });
    // The flag the message names is a declared, documented option.
    expect((await cli(alice, ["backup", "--help"])).stdout).toContain("--force");
  }, 30_000);

  test("backup to a directory says it is one (exit 2), with --force too, and leaves it as it was", async () => {
    // It used to fail with a raw EISDIR (exit 1) after asking for the passphrase.
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const dir = join(team.root, "backups");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep"), "keep me");
    for (const force of [[], ["--force"]]) {
      const r = await cli(alice, ["backup", dir, "--passphrase-stdin", ...force], { stdin: PASS });
      expect({ code: r.code, stderr: r.stderr, files: readdirSync(dir) }).toEqual({
        code: 2,
        stderr: `claudemesh: ${dir} is a directory; give the backup a file name, like ${join(dir, "claudemesh-backup.cmbk")}.\n  fix: see \`claudemesh backup --help\`\n`,
        files: ["keep"],
      });
    }
  }, 30_000);

  test("restore of a directory, and admin restore of one, say so (exit 2) and create nothing", async () => {
    // They used to fail with a raw EISDIR (exit 1), and with "disk I/O error" after making the
    // data directory and its lock.
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const dir = join(team.root, "backups");
    mkdirSync(dir);
    const r = await cli(alice, ["restore", dir, "--passphrase-stdin", "--force"], { stdin: PASS });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: `claudemesh: ${dir} is a directory; give the path of a backup file \`claudemesh backup\` wrote (a .cmbk file).\n  fix: see \`claudemesh restore --help\`\n`,
    });
    const data = join(team.root, "broker-data");
    const a = await cli(alice, ["admin", "restore", dir, "--data-dir", data, "--force"]);
    expect({ code: a.code, stderr: a.stderr, made: existsSync(data) }).toEqual({
      code: 2,
      stderr: `claudemesh: ${dir} is a directory; give the backup file itself (the .db file \`claudemesh admin backup\` printed).\n`,
      made: false,
    });
  }, 30_000);

  test("backup --force over an existing 0644 file leaves the backup 0600", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const file = join(team.root, "old.cmbk");
    writeFileSync(file, "old");
    chmodSync(file, 0o644);
    const r = await cli(alice, ["backup", file, "--passphrase-stdin", "--force"], { stdin: PASS });
    expect({ code: r.code, mode: mode(file) }).toEqual({ code: 0, mode: "600" });
  }, 30_000);
});
