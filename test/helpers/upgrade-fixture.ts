// A writable copy of one test/fixtures/upgrade/schema-<N>/ (see its README): the broker's data
// directory and the members' config directories the older version wrote, with the manifest.
import { chmodSync, cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBase64Url, toBase64Url } from "../../src/crypto/encoding.ts";
import { tempDir } from "./temp-dir.ts";

export type Manifest = {
  schema: number;
  commit: string;
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
