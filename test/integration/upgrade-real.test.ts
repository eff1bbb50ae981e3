// docs/operations.md "Upgrading", with data the shipped versions wrote themselves: each
// test/fixtures/upgrade/schema-<N>/ is a broker data directory and its members' config directories
// as the last commit with schema N left them (scripts/make-upgrade-fixtures.ts). Today's `serve`
// is started on a copy, and today's CLI is run with the config directories the older CLI wrote.
// It must migrate (recorded with checksums), keep the audit chain verifiable, deliver bob's queued
// messages in the order they were sent with their plaintext, keep topic history and offsets,
// grants, blocks, removals and the partly used invite's remaining uses. The other direction (the
// older `serve` on the migrated directory) needs that commit's code, so the generator ran it and
// recorded the outcome in manifest.json; this test checks what it recorded. Every process (the
// broker, each CLI run, the MCP server) runs under libfaketime at the fixture's time plus a day,
// whatever the date: the invites and queued messages the fixture holds never expire for them.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { MIGRATIONS, LATEST_VERSION } from "../../src/store/migrations.ts";
import { tempDir } from "../helpers/broker.ts";
import { cli, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { FAKED_AFTER_GENERATION_MS, inboxBodies, joinLinkFor, upgradedFixture } from "../helpers/upgrade-fixture.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/upgrade");
const SCHEMAS = readdirSync(FIXTURES)
  .filter((d) => d.startsWith("schema-"))
  .map((d) => Number(d.slice("schema-".length)))
  .sort((a, b) => a - b);

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
/** The quoted body lines ("> text") of an MCP tool's answer. */
const quotedBodies = (text: string) => [...text.matchAll(/^> (?!").*$/gm)].map((x) => x[0].slice(2));

test("fixtures cover schema 1, schema 4 and the last schema before the newest", () => {
  expect(SCHEMAS).toEqual(expect.arrayContaining([1, 4, LATEST_VERSION - 1]));
});

describe.each(SCHEMAS)("a data directory schema %i's own code wrote", (schema) => {
  test("today's serve migrates it, and every member's older config works with today's CLI", async () => {
    await using up = await upgradedFixture(join(FIXTURES, `schema-${schema}`));
    const { f, broker, clock, run } = up;
    const logs = broker.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    // The broker runs on the faked clock: a day after the fixture was made, before it expires.
    const brokerNow = Date.parse(logs.find((l) => l.msg === "broker listening")?.ts);
    const generated = Date.parse(f.manifest.generatedAt);
    expect({ fakedClock: Math.abs(brokerNow - clock.now()) < 10_000, afterGeneration: brokerNow > generated + FAKED_AFTER_GENERATION_MS - 10_000, beforeExpiry: brokerNow < Date.parse(f.manifest.expiresAt) }).toEqual({ fakedClock: true, afterGeneration: true, beforeExpiry: true });
    const migrated = logs.find((l) => l.msg === "database migrated");
    const backupPath: string = migrated?.backup;
    expect({ from: migrated?.from, to: migrated?.to, backup: backupPath }).toEqual({ from: schema, to: LATEST_VERSION, backup: join(f.dataDir, "backups", basename(backupPath)) });
    expect(basename(backupPath)).toStartWith(`pre-migrate-v${schema}-`);
    const backup = new Database(backupPath, { readonly: true });
    try {
      expect(backup.query("SELECT max(version) AS v FROM schema_migrations").get()).toEqual({ v: schema });
    } finally {
      backup.close();
    }

    const db = new Database(join(f.dataDir, "claudemesh.db"), { readonly: true });
    try {
      const rows = db.query<{ version: number; name: string; checksum: string }, []>("SELECT version, name, checksum FROM schema_migrations ORDER BY version").all();
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name, checksum: sha256(m.sql) })));
      // carol was kicked with the reason "left": schema 5's backfill reads the chain, not the text.
      const removed = db.query("SELECT display_name AS name, revoked_reason AS reason, revoked_by AS revokedBy, banned FROM members WHERE revoked_at IS NOT NULL ORDER BY display_name").all();
      const owner = f.manifest.members.owner!.memberId;
      expect(removed).toEqual([
        { name: "carol", reason: "left", revokedBy: owner, banned: 0 },
        { name: "dave", reason: "spam", revokedBy: owner, banned: 1 },
      ]);
    } finally {
      db.close();
    }

    const m = f.manifest;

    // The audit chain the older broker wrote verifies, and still holds the head the owner saved.
    const verify = await run("owner", ["audit", "verify", "--json"]);
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: "" });
    expect(verify.json()).toMatchObject({ valid: true, head: m.old.auditVerify.head, entries: m.old.auditVerify.entries });

    // bob was offline through all of it: his queue comes in the order it was sent, decrypted,
    // across the two rotations, without what eve's grant and alice's block dropped.
    const inbox = await run("bob", ["inbox", "--json"]);
    expect({ code: inbox.code, stderr: inbox.stderr }).toEqual({ code: 0, stderr: "" });
    const bob = m.members.bob!.pubkey;
    expect(inboxBodies(inbox.json())).toEqual(m.queuedForBob.map((q) => ({ ...q, to: q.to === "bob" ? bob : q.to })));
    const again = await run("bob", ["inbox", "--json"]);
    expect(inbox.json()).toMatchObject({ dropped: 0, waitingForKeys: 0 });
    expect(again.json()).toEqual({ messages: [], dropped: 0, waitingForKeys: 0 });

    // Topic history and offsets as the older broker numbered them, readable after alice's inbox
    // brings her the key of the last rotation; a new post takes the next offset.
    expect((await run("alice", ["inbox", "--json"])).code).toBe(0);
    const history = await run("alice", ["topic", "history", "deploys", "--json"]);
    const posts = m.queuedForBob.filter((q) => q.to === "#deploys");
    expect(history.json()).toMatchObject({ topic: "deploys", lastOffset: posts.length });
    expect(history.json().messages.map((e: any) => [e.ok, e.message?.topicOffset, e.message?.body])).toEqual(posts.map((p, i) => [true, i + 1, p.text]));
    const posted = await run("alice", ["topic", "post", "deploys", "after the upgrade", "--json"]);
    expect(posted.json()).toMatchObject({ topicOffset: posts.length + 1 });

    // Grants and the block: as the older CLI listed them, and still enforced.
    expect((await run("bob", ["grants", "--json"])).json()).toEqual(m.old.bobGrants);
    expect((await run("alice", ["grants", "--json"])).json()).toEqual(m.old.aliceGrants);
    // bob took eve's dm capability. Members enrolled before schema 3 have no admission evidence
    // (docs/decisions.md, "Membership and keys"), so today's CLI refuses a DM to bob itself there;
    // from schema 3 on it sends, and the broker drops it by bob's grant. alice blocked eve: her
    // broadcast reaches bob, not alice. The owner's broadcast after them shows nothing is pending.
    const dm = await run("eve", ["send", "bob", "eve's dm after the upgrade"]);
    if (schema < 3) expect({ code: dm.code, stderr: dm.stderr }).toEqual({ code: 3, stderr: expect.stringContaining("cannot be checked: the broker shows no invite and claim signed back to the mesh owner") });
    else expect({ code: dm.code, stderr: dm.stderr }).toEqual({ code: 0, stderr: "" });
    expect((await run("eve", ["send", "*", "eve's broadcast after the upgrade"])).code).toBe(0);
    expect((await run("owner", ["send", "*", "owner's broadcast after eve's"])).code).toBe(0);
    const bodies = async (name: string) => inboxBodies((await run(name, ["inbox", "--json"])).json()).map((x) => x.text);
    expect(await bodies("bob")).toEqual(["after the upgrade", "eve's broadcast after the upgrade", "owner's broadcast after eve's"]);
    expect(await bodies("alice")).toEqual(["owner's broadcast after eve's"]);

    // The kicked and the banned member are still refused.
    for (const name of ["carol", "dave"]) {
      const refused = await run(name, ["peers", "--json"]);
      expect({ name, code: refused.code }).toEqual({ name, code: 3 });
      expect(refused.json().error.code).toBe("revoked");
    }

    // The five-use invite three members claimed has exactly two uses left.
    const link = joinLinkFor(m.partInvite.link, broker.url);
    for (const name of ["frank", "grace"]) {
      const joined = await cli(tempDir("cm-upgrade-joiner-"), ["join", link, "--name", name, "--json"], { env: clock.env });
      expect({ name, code: joined.code, stderr: joined.stderr }).toEqual({ name, code: 0, stderr: "" });
    }
    const third = await cli(tempDir("cm-upgrade-joiner-"), ["join", link, "--name", "heidi", "--json"], { env: clock.env });
    expect({ code: third.code, error: third.json().error.code }).toEqual({ code: 5, error: "invite_exhausted" });
    const invites = (await run("owner", ["invite", "list", "--all", "--json"])).json().invites;
    expect(invites.find((i: any) => i.inviteId === m.partInvite.inviteId)).toMatchObject({ maxUses: 5, usedCount: 5, revokedAt: null });
    expect(invites.find((i: any) => i.inviteId === m.revokedInvite)).toMatchObject({ usedCount: 0, revokedAt: expect.any(Number) });

    // The owner's first rotation after the upgrade: members without admission evidence get no key,
    // and before schema 3 an invite carried none either, so the two who used one today get none.
    const rekey = await run("owner", ["rekey", "--json"]);
    expect({ code: rekey.code, stderr: rekey.stderr }).toEqual({ code: 0, stderr: "" });
    expect(rekey.json().skipped.sort()).toEqual(schema < 3 ? ["alice", "bob", "eve", "frank", "grace"] : []);
  }, 120_000);

  // A session's mailbox starts with the session (protocol.md §5.1): what was queued for bob's
  // member key before stays there for `claudemesh inbox`. The session takes from it only the keys
  // of the rotations the older owner's CLI sent (src/mcp/key-catchup.ts). From schema 7 on, what
  // reached bob's member key while none of his sessions ran was marked for his next session ("The
  // next session"): this first session is given a copy of it, and the terminal keeps its own.
  test("today's MCP server with the offline member's older config connects, takes the rotated keys, and delivers what comes after through mesh_inbox", async () => {
    await using up = await upgradedFixture(join(FIXTURES, `schema-${schema}`));
    const { f, clock, run } = up;
    const m = f.manifest;
    const bob = f.configDir("bob");
    await using s = await startMcp(bob, `upgrade-bob-${schema}`, "/work/projects/app", undefined, clock.env);
    await waitConnected(s);
    // The scenario rotated twice (a rekey, and a kick's rotation): epochs 1 and 2 reach the config.
    const epochs = () => loadConfig(bob).meshes[0]!.meshKeys.map((k) => k.epoch);
    await until(() => epochs().length === 3, "both rotations' keys in bob's config");
    expect(epochs()).toEqual([0, 1, 2]);
    const handed = schema >= 7 ? m.queuedForBob.map((q) => q.text) : [];
    if (handed.length === 0) expect(await s.call("mesh_inbox")).toEqual({ text: "No new messages.", isError: false });
    else {
      const got: string[] = [];
      await until(async () => (got.push(...quotedBodies((await s.call("mesh_inbox")).text)), got.length >= handed.length), "the queue handed to bob's first session");
      expect(got).toEqual(handed);
    }

    // Sent once the session is live: a broadcast, a topic post under the newest key and, from
    // schema 3 on (before it bob has no admission evidence, see the test above), a DM.
    const after = ["owner's broadcast to bob's session", "owner's post bob's session reads with the caught-up key", ...(schema >= 3 ? ["alice's dm to bob's session"] : [])];
    ok(await run("owner", ["send", "*", after[0]!]), "broadcast");
    ok(await run("owner", ["topic", "post", "deploys", after[1]!]), "topic post");
    if (schema >= 3) ok(await run("alice", ["send", "bob/app", after[2]!]), "dm");
    // Read, not awaited as notifications: a session handed its queue has spent its doorbell's burst.
    const later: string[] = [];
    await until(async () => (later.push(...quotedBodies((await s.call("mesh_inbox")).text)), later.length >= after.length), "what was sent after the session started");
    expect(later).toEqual(after);
    // The session posts under the caught-up key; the owner reads it.
    expect(await s.call("mesh_send", { to: "#deploys", message: "bob's session posts after the upgrade" })).toMatchObject({ isError: false });
    const history = ok(await run("owner", ["topic", "history", "deploys", "--json"]), "history").json().messages;
    expect(history.at(-1)).toMatchObject({ ok: true, message: { body: "bob's session posts after the upgrade" } });

    // bob's terminal still gets his whole queue first: the session took nothing from it.
    await s.close();
    const terminal = ok(await run("bob", ["inbox", "--json"]), "bob's inbox").json();
    const bobKey = m.members.bob!.pubkey;
    expect(inboxBodies(terminal)).toEqual([
      ...m.queuedForBob.map((q) => ({ ...q, to: q.to === "bob" ? bobKey : q.to })),
      { from: "owner", to: "*", text: after[0]! },
      { from: "owner", to: "#deploys", text: after[1]! },
      { from: "bob/app", to: "#deploys", text: "bob's session posts after the upgrade" },
    ]);
  }, 120_000);

  test("the older serve refused the directory today's serve migrated and changed nothing, and went back with the pre-migrate backup (recorded by the generator)", () => {
    const { olderOnMigrated, olderRestoresBackup } = JSON.parse(readFileSync(join(FIXTURES, `schema-${schema}`, "manifest.json"), "utf8"));
    expect(olderRestoresBackup).toMatchObject({ restoreCode: 0, restoreOutput: expect.stringContaining(`schema version ${schema}`), serveListened: true });
    expect(olderOnMigrated.code).not.toBe(0);
    expect(olderOnMigrated.stderr).toMatch(new RegExp(`written by a newer claudemesh \\(schema version \\d+; this binary knows up to ${schema}\\)`));
    expect(olderOnMigrated.databaseUnchanged).toBe(true);
  });
});
