// `claudemesh backup FILE --force` writes into what FILE names: a symbolic link of the user's is
// written through (atomically, in the linked file's directory) and the output says where; a FIFO,
// a device or a socket is refused (exit 2) — the temp-file-and-rename write replaced it with a
// regular file (as root, `backup /dev/full --force` replaced the device node). A FIFO stands in
// for a device here. Argon2id takes ~1.5 s per backup, so the cases are few.
import { describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliTeam, identities } from "../helpers/cli.ts";

const PASS = "correct horse battery staple\n";

describe("backup target", () => {
  test("a symlink (also one to a file not there yet) is written through; the link stays a link", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice], root } = team;
    const usb = join(root, "usb");
    mkdirSync(usb);
    const real = join(usb, "real.cmbk");
    writeFileSync(real, "old backup");
    const link = join(root, "latest.cmbk");
    symlinkSync("usb/real.cmbk", link); // relative, as `ln -s` makes it
    const r = await cli(alice, ["backup", link, "--passphrase-stdin", "--force"], { stdin: PASS });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `Backed up 1 mesh identity to ${real} (through the link ${link}). Keep the passphrase: without it the file cannot be opened.\n`, stderr: "" });
    expect({ link: lstatSync(link).isSymbolicLink(), old: readFileSync(real, "utf8") === "old backup", files: readdirSync(usb) }).toEqual({ link: true, old: false, files: ["real.cmbk"] });
    // What it wrote restores.
    await using fresh = identities(1);
    const restored = await cli(fresh.dirs[0]!, ["restore", link, "--passphrase-stdin", "--json"], { stdin: PASS });
    expect({ code: restored.code, restored: restored.json().restored }).toEqual({ code: 0, restored: [team.mesh.slug] });

    // Without --force an existing link target is refused like an existing file.
    const noForce = await cli(alice, ["backup", link, "--passphrase-stdin"], { stdin: PASS });
    expect({ code: noForce.code, stderr: noForce.stderr }).toEqual({ code: 5, stderr: expect.stringContaining(`${link} exists; choose another name or pass --force.`) });

    // A dangling link names the file to create.
    const dangling = join(root, "next.cmbk");
    symlinkSync(join(usb, "next-real.cmbk"), dangling);
    const made = await cli(alice, ["backup", dangling, "--passphrase-stdin", "--json"], { stdin: PASS });
    expect({ code: made.code, file: made.json().file, link: made.json().link, isLink: lstatSync(dangling).isSymbolicLink() }).toEqual({ code: 0, file: join(usb, "next-real.cmbk"), link: dangling, isLink: true });
  }, 60_000);

  test("a FIFO, or a link to one, is refused before the passphrase is read, and stays a FIFO", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice], root } = team;
    const fifo = join(root, "pipe");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const link = join(root, "to-pipe.cmbk");
    symlinkSync(fifo, link);
    for (const [given, shown] of [
      [fifo, fifo],
      [link, `${link} leads to ${fifo}, which`],
    ] as const) {
      // No stdin: had the passphrase been read first, the refusal would be about it.
      const r = await cli(alice, ["backup", given, "--passphrase-stdin", "--force"]);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: expect.stringContaining(`claudemesh: ${shown} is a FIFO (named pipe); a backup replaces only a regular file. Choose another name.\n`) });
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
    expect(readdirSync(root).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 60_000);
});

describe("admin backup --out", () => {
  test("a link to a file not there yet counts as there: never overwritten, the link stays", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    const link = join(ids.root, "nightly.db");
    symlinkSync(join(ids.root, "not-yet.db"), link);
    const r = await cli(ids.dirs[0]!, ["admin", "backup", "--data-dir", b.dataDir, "--out", link], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: expect.stringContaining(`${link} exists (a symbolic link); backups never overwrite. Choose another name.`) });
    expect({ link: lstatSync(link).isSymbolicLink(), files: readdirSync(ids.root).filter((n) => n !== "id0") }).toEqual({ link: true, files: ["nightly.db"] });
  }, 60_000);

  test("a -wal, -shm or -journal beside the name is refused: SQLite would pair it with the backup", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    for (const [suffix, holds] of [["-wal", "write-ahead log"], ["-shm", "shared-memory index"], ["-journal", "rollback journal"]]) {
      const out = join(ids.root, `nightly${suffix}-case.db`);
      writeFileSync(out + suffix, "left by another database");
      const r = await cli(ids.dirs[0]!, ["admin", "backup", "--data-dir", b.dataDir, "--out", out], { timeoutMs: 30_000 });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: ${out}${suffix} exists: SQLite would read it as the backup's ${holds}. Remove it or choose another name.\n` });
      expect(readdirSync(ids.root).filter((n) => n.startsWith(`nightly${suffix}`))).toEqual([`nightly${suffix}-case.db${suffix}`]);
    }
  }, 60_000);
});
