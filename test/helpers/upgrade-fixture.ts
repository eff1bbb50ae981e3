// A writable copy of one test/fixtures/upgrade/schema-<N>/ (see its README): the broker's data
// directory and the members' config directories the older version wrote, with the manifest; and
// today's `serve` and CLI run on it under a faked clock (test/helpers/faked-clock.ts).
import { chmodSync, cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBase64Url, toBase64Url } from "../../src/crypto/encoding.ts";
import { cli, type CliResult } from "./cli.ts";
import { fakedClock, type FakedClock } from "./faked-clock.ts";
import { spawnBroker, type BrokerProcess } from "./process.ts";
import { tempDir } from "./temp-dir.ts";

export type Manifest = {
  schema: number;
  commit: string;
  generatedAt: string;
  expiresAt: string;
  meshId: string;
  brokerUrl: string;
  members: Record<string, { memberId: string; pubkey: string }>;
  partInvite: { inviteId: string; link: string; maxUses: number; used: number };
  revokedInvite: string;
  queuedForBob: { from: string; to: string; text: string }[];
  dropped: { from: string; to: string; text: string }[];
  old: { invites: any; topicHistory: any; aliceGrants: any; bobGrants: any; auditVerify: any };
  olderOnMigrated: { code: number; stderr: string; databaseUnchanged: boolean };
};

export type Fixture = {
  manifest: Manifest;
  dataDir: string;
  configDir(name: string): string;
  /** Points every member's config at `url`: the fixture's broker listened on a port of its own. */
  pointMembersAt(url: string): void;
};

export function fixtureCopy(fixtureDir: string): Fixture {
  const root = tempDir("cm-upgrade-");
  cpSync(fixtureDir, root, { recursive: true });
  privateModes(root);
  const manifest = JSON.parse(readFileSync(join(root, "manifest.json"), "utf8")) as Manifest;
  const configDir = (name: string) => join(root, "members", name);
  return {
    manifest,
    dataDir: join(root, "broker"),
    configDir,
    pointMembersAt(url) {
      for (const name of Object.keys(manifest.members)) {
        const path = join(configDir(name), "config.json");
        const config = JSON.parse(readFileSync(path, "utf8"));
        for (const mesh of config.meshes) if (mesh.brokerUrl === manifest.brokerUrl) mesh.brokerUrl = url;
        writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
      }
    },
  };
}

/** Where the faked clock of an upgraded fixture stands: a day after the fixture was made, later
 *  than everything in it and far within its invites' and messages' 365 days. */
export const FAKED_AFTER_GENERATION_MS = 24 * 60 * 60 * 1000;

export type Upgraded = {
  f: Fixture;
  /** The clock every process of this fixture reads (the broker, every CLI run, an MCP server). */
  clock: FakedClock;
  broker: BrokerProcess;
  /** Today's CLI with member `name`'s config directory, under the fixture's clock. */
  run(name: string, args: string[]): Promise<CliResult>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** A copy of `fixtureDir` with today's `serve` started on it and every member pointed at it. The
 *  broker and everything started with `clock.env` read the fixture's time plus a day, whatever the
 *  date of the run: the fixture's invites and queued messages never expire for them, and their
 *  checks of each other's clocks (hello timestamps) hold as between real machines. */
export async function upgradedFixture(fixtureDir: string): Promise<Upgraded> {
  const f = fixtureCopy(fixtureDir);
  const clock = fakedClock(Date.parse(f.manifest.generatedAt) + FAKED_AFTER_GENERATION_MS);
  const broker = await spawnBroker(f.dataDir, [], undefined, clock.env);
  // Its log's time says whether libfaketime took (the test asserts it too, with the fixture's dates).
  const listening = /"ts":"([^"]+)","level":"info","msg":"broker listening"/.exec(broker.stderr());
  const skewMs = Math.abs(Date.parse(listening?.[1] ?? "") - clock.now());
  if (!(skewMs < 10_000)) {
    await broker[Symbol.asyncDispose]();
    throw new Error(`serve did not run on the faked clock (${clock.env.FAKETIME} with ${clock.env.LD_PRELOAD}): it logged ${listening?.[1]}`);
  }
  f.pointMembersAt(broker.url);
  return { f, clock, broker, run: (name, args) => cli(f.configDir(name), args, { env: clock.env }), [Symbol.asyncDispose]: () => broker[Symbol.asyncDispose]() };
}

/** Git keeps no file modes, so a checkout has 0644 where the older versions wrote 0600 (and 0700
 *  directories), which the CLI refuses as readable by others: give back the modes they wrote. */
function privateModes(dir: string): void {
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) privateModes(join(dir, e.name));
    else chmodSync(join(dir, e.name), 0o600);
  }
}

/** The fixture's invite link with its broker replaced by `url` (the broker address is not part of
 *  what the issuer signs, protocol.md §3.4). */
export function joinLinkFor(link: string, url: string): string {
  const payload = JSON.parse(new TextDecoder().decode(fromBase64Url(link.slice("ic://join/".length))));
  return `ic://join/${toBase64Url(new TextEncoder().encode(JSON.stringify({ ...payload, broker: url })))}`;
}

/** `inbox --json`'s messages as `{from, to, text}` in the order printed. */
export function inboxBodies(out: any): { from: string; to: string; text: string }[] {
  return out.messages.map((m: any) => ({ from: m.from?.name, to: m.to, text: m.body }));
}
