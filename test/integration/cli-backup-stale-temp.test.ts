// `claudemesh backup FILE` writes `.FILE.<pid>.<hex>.tmp` (0600, exclusive) and renames it over
// FILE. A backup killed before the rename (SIGKILL, power loss) leaves that temp file; the next
// write to the same FILE removes it once its writer is gone (no such pid, older than a minute) and
// touches nothing else: another target's temp files, a running writer's, a recent one (a writer on
// another machine may share the directory), or names that are not its own.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam } from "../helpers/cli.ts";

/** The pid of a process that has exited (and so names none, barring reuse within the test). */
async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

test("backup removes the temp file a killed backup of the same file left, and nothing else", async () => {
  await using team = await cliTeam(["alice"]);
  const { dirs: [alice] } = team;
  const dir = join(team.root, "out");
  mkdirSync(dir);
  const dead = await deadPid();
  const hourAgo = new Date(Date.now() - 3600_000);
  const plant = (name: string, old = true) => {
    writeFileSync(join(dir, name), `planted ${name}`, { mode: 0o600 });
    if (old) utimesSync(join(dir, name), hourAgo, hourAgo);
  };
  const stale = `.mesh.cmbk.${dead}.0123456789ab.tmp`;
  const kept = [
    `.mesh.cmbk.${process.pid}.0123456789ab.tmp`, // its writer (this test) is running
    `.other.cmbk.${dead}.0123456789ab.tmp`, // another target's
    `.mesh.cmbk.${dead}.0123456789ab.tmp.keep`, // not a name backup makes
    "mesh.cmbk.partial",
    ".mesh.cmbk.notes.tmp",
  ];
  plant(stale);
  for (const name of kept) plant(name);
  const recent = `.mesh.cmbk.${dead}.ba9876543210.tmp`; // maybe a writer on another machine
  plant(recent, false);

  const r = await cli(alice, ["backup", join(dir, "mesh.cmbk"), "--passphrase-stdin"], { stdin: "correct horse battery staple\n" });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(readdirSync(dir).toSorted()).toEqual([...kept, recent, "mesh.cmbk"].toSorted());
  expect((statSync(join(dir, "mesh.cmbk")).mode & 0o777).toString(8)).toBe("600");
  for (const name of [...kept, recent]) expect(readFileSync(join(dir, name), "utf8")).toBe(`planted ${name}`);
}, 60_000);
