// A member who joins with an invite made before a key rotation, so it asks the owner for the keys
// (docs/protocol.md §11.5): alice owns the mesh (with bob), makes an invite, rotates, and dave (a
// new identity) claims it, which leaves one key request in alice's mailbox. Real broker, real CLI.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/client/local/config-file.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { cli, cliTeam, identities, ok } from "./cli.ts";

export async function lateJoiner() {
  const team = await cliTeam(["alice", "bob"]);
  const alice = team.dirs[0];
  const { link } = ok(await cli(alice, ["invite", "--json"])).json();
  ok(await cli(alice, ["rekey"]));
  const ids = identities(1);
  const daveDir = ids.dirs[0]!;
  const joined = ok(await cli(daveDir, ["join", link, "--name", "dave"]));
  const db = (team.b.ctx.store as SqliteStore).db;
  const keyOf = (dir: string) => loadConfig(dir).meshes[0]!.publicKey;
  const count = (where: string, ...keys: string[]) => (db.query(`SELECT COUNT(*) AS n FROM messages WHERE ${where}`).get(...keys) as { n: number }).n;
  return {
    b: team.b,
    alice,
    bob: team.dirs[1],
    dave: daveDir,
    joined,
    db,
    /** dave's key requests: his DMs to the owner's key. */
    requests: () => count("sender_pubkey = ? AND target = ?", keyOf(daveDir), keyOf(alice)),
    /** The owner's answers: nobody else sends to dave (from alice's member key or a session of it). */
    answers: () => count("kind = 'direct' AND target = ?", keyOf(daveDir)),
    epochs: () => loadConfig(daveDir).meshes[0]!.meshKeys.map((k) => k.epoch),
    async [Symbol.asyncDispose]() {
      await team[Symbol.asyncDispose]();
      await ids[Symbol.asyncDispose]();
    },
  };
}

/** Makes the key request noted in `dir`'s config `ms` older. */
export function ageKeysAsked(dir: string, ms: number): void {
  const file = join(dir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  if (cfg.meshes[0].keysAsked) cfg.meshes[0].keysAsked.at -= ms; // (none before session 37)
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
}
