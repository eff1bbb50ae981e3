// `claudemesh restore` replaces config.json under the config lock, deciding from the config as it
// is then (src/cli/commands/backup.ts): a mesh another process saved while the restore waited for
// the lock is in the copy it keeps and named as not in the backup, and without --force it is
// refused. It used to read the config before waiting, and to copy the file outside the lock.
// (Two Argon2id derivations per restore: about 3 s each.)
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliEnv, cliMesh, identities, MAIN, ok, until } from "../helpers/cli.ts";
import { CONFIG_LOCK } from "../../src/client/local/config-lock.ts";
import { loadConfig, saveConfig, upsertMesh } from "../../src/client/local/config-file.ts";

const PASS = "correct horse battery staple\n";

/** Runs `restore file --passphrase-stdin` in `dir` while this process holds its config lock; once
 *  the restore waits for it, `meanwhile` changes the config (as the lock's holder), and the lock is
 *  released. */
async function restoreWhileLocked(dir: string, file: string, flags: string[], meanwhile: () => void) {
  const lock = join(dir, CONFIG_LOCK);
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
  const proc = Bun.spawn([process.execPath, "run", MAIN, "restore", file, "--passphrase-stdin", "--json", ...flags], { env: cliEnv(dir, { CLAUDEMESH_DEBUG: "1" }), stdin: new TextEncoder().encode(PASS), stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  const read = (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  try {
    await until(() => stderr.includes(`config.json is locked by process ${process.pid}; waiting`), "the restore to wait for the lock", 20_000);
    meanwhile();
  } finally {
    rmSync(lock, { force: true });
  }
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited, read]);
  return { code, json: JSON.parse(stdout) };
}

test("a mesh saved while restore waits for the lock is kept aside and named with --force, and refused without", async () => {
  await using b = await startBroker();
  await using ids = identities(2);
  const [alice, fresh] = ids.dirs as [string, string];
  await cliMesh(b.url, [[alice, "alice"]]);
  const file = join(ids.root, "alice.cmbk");
  ok(await cli(alice, ["backup", file, "--passphrase-stdin"], { stdin: PASS }));
  const team = loadConfig(alice).meshes[0]!;
  const side = { ...team, meshId: "mesh_side", slug: "side" };
  const saveSide = (dir: string) => () => saveConfig(dir, upsertMesh(loadConfig(dir), side));

  const forced = await restoreWhileLocked(alice, file, ["--force"], saveSide(alice));
  expect({ code: forced.code, notInBackup: forced.json.notInBackup }).toEqual({ code: 0, notInBackup: [{ slug: "side", meshId: "mesh_side", role: "owner" }] });
  expect(JSON.parse(readFileSync(forced.json.previousConfig, "utf8")).meshes.map((m: { slug: string }) => m.slug)).toEqual(["team-x", "side"]);

  // A fresh machine: nothing to replace when restore starts, a mesh joined while it waits.
  mkdirSync(fresh, { mode: 0o700 });
  const refused = await restoreWhileLocked(fresh, file, [], saveSide(fresh));
  expect({ code: refused.code, error: refused.json.error?.code }).toEqual({ code: 5, error: "conflict" });
  expect(loadConfig(fresh).meshes.map((m) => m.slug)).toEqual(["side"]);
  expect(existsSync(join(fresh, CONFIG_LOCK))).toBe(false);
}, 60_000);
