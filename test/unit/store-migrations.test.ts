// Pins the embedded store's start-up contract: migrations (fresh, reopen, newer, edited), file
// modes, the epoch, claim reset on restart, health and verified backups.
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION, MIGRATIONS } from "../../src/store/migrations.ts";
import { migrate, MigrationError } from "../../src/store/sqlite/migrate.ts";
import { openDatabase } from "../../src/store/sqlite/open.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { BUSY_TIMEOUT_MS } from "../../src/store/sqlite/lock-watch.ts";
import { AuditRepo } from "../../src/store/sqlite/audit-repo.ts";
import { securityFacts } from "../../src/store/sqlite/audit-tables.ts";
import { verifyEveryChain } from "../../src/broker/audit-verifier.ts";
import { addMember, count, directMessage, invite, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";
import { dropIndexesOf } from "../helpers/old-schema.ts";
import { MAX_OPEN_INVITES_PER_MEMBER, MAX_PAGE } from "../../src/protocol/limits.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const versions = (db: Database) => db.query<{ version: number }, []>("SELECT version FROM schema_migrations ORDER BY version").all().map((r) => r.version);

describe("migrations", () => {
  test("the embedded list matches the files in migrations/", () => {
    const files = readdirSync(join(import.meta.dir, "../../migrations")).filter((f) => f.endsWith(".sql")).sort();
    expect(MIGRATIONS.map((m) => m.name)).toEqual(files);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
  });

  test("a fresh database gets every migration; reopening applies nothing", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    expect(versions(store.db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(store.db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version).toBe(LATEST_VERSION);
    store.close();
    const db = openDatabase(join(dir, "claudemesh.db"), { synchronous: "normal" });
    expect(migrate(db, MIGRATIONS, join(dir, "backups"))).toEqual({ applied: [], backupPath: null });
    db.close();
  });

  test("a database from a newer claudemesh is refused", async () => {
    const dir = tmp.make();
    (await tmp.open(dir)).db.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, '0099_future.sql', 'x', 0)");
    const reopen = openSqliteStore({ dataDir: dir, synchronous: "normal" });
    await expect(reopen).rejects.toThrow(MigrationError);
    await expect(reopen).rejects.toThrow(/newer/);
  });

  test("a newer database in another journal mode is refused without a byte changed", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    store.db.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, '0099_future.sql', 'x', 0)");
    store.db.run("PRAGMA journal_mode = DELETE"); // as a newer version might leave it
    store.close();
    const file = join(dir, "claudemesh.db");
    const before = readFileSync(file);
    await expect(openSqliteStore({ dataDir: dir, synchronous: "normal" })).rejects.toThrow(/newer claudemesh \(schema version 99/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith("claudemesh.db-"))).toEqual([]);
  });

  test("an applied migration whose text changed is refused", async () => {
    const dir = tmp.make();
    (await tmp.open(dir)).db.run("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    await expect(openSqliteStore({ dataDir: dir, synchronous: "normal" })).rejects.toThrow(MigrationError);
  });

  test("the refusal of an edited migration says what to do: run the release that applied it, or restore a copy from before it", async () => {
    /** What migrate says of a database whose migration `version` was edited, and its backups/. */
    const refusal = async (version: number) => {
      const dir = tmp.make();
      (await tmp.open(dir)).db.run("UPDATE schema_migrations SET checksum = 'edited' WHERE version = ?", [version]);
      const db = new Database(join(dir, "claudemesh.db"));
      try {
        migrate(db, MIGRATIONS, join(dir, "backups"));
        return { said: "accepted", backups: "" };
      } catch (err) {
        return { said: (err as Error).message, backups: join(dir, "backups") };
      } finally {
        db.close();
      }
    };
    const head = (v: number) => `Migration ${v} (${MIGRATIONS[v - 1]!.name}) differs from the one applied to this database; refusing to start. Run the claudemesh release that applied it, or restore a backup taken before it was applied`;
    const third = await refusal(3);
    expect(third.said).toBe(`${head(3)}: in ${third.backups}, a pre-migrate-v<N>-….db with N below 3 is one.`);
    // No copy comes from before the first migration: the sentence ends with the advice.
    expect((await refusal(1)).said).toBe(`${head(1)}.`);
  });
});

describe("open", () => {
  test("creates the data dir 0700 and the database file 0600, with WAL and foreign keys", async () => {
    const dir = join(tmp.make(), "data");
    const store = await openSqliteStore({ dataDir: dir, synchronous: "full" });
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, "claudemesh.db")).mode & 0o777).toBe(0o600);
      await seedMesh(store);
      expect(statSync(join(dir, "claudemesh.db-wal")).mode & 0o777).toBe(0o600);
      expect(store.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode).toBe("wal");
      expect(store.db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()!.foreign_keys).toBe(1);
      // "full" is NORMAL plus the store's own WAL flush before it answers (wal-sync.ts).
      expect(store.db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()!.synchronous).toBe(1);
      // Serving waits briefly for another process's lock (lock-watch.ts), never seconds.
      expect(store.db.query<{ timeout: number }, []>("PRAGMA busy_timeout").get()!.timeout).toBe(BUSY_TIMEOUT_MS);
    } finally {
      store.close();
    }
  });

  test("the epoch is made once and survives a reopen", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    expect(a.epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    a.close();
    const b = await tmp.open(dir);
    expect(b.epoch).toBe(a.epoch);
    const other = await tmp.open();
    expect(other.epoch).not.toBe(a.epoch);
  });

  test("claims left by a previous process are released at start", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const { owner } = await seedMesh(a);
    const to = pubkey();
    await a.commitSends([directMessage(owner, [to], { claimFor: new Map([[to, "conn-old"]]) })], 0);
    expect(await a.claim(owner.meshId, [to], { conn: "c", limit: 10 })).toEqual([]);
    a.close();
    const b = await tmp.open(dir);
    expect(await b.claim(owner.meshId, [to], { conn: "c", limit: 10 })).toHaveLength(1);
  });
});

describe("upgrade from version 1", () => {
  test("messages and queue rows survive 0002 in order, with their ids; claims are dropped", async () => {
    const dir = tmp.make();
    const v1 = openDatabase(join(dir, "claudemesh.db"), { synchronous: "normal" });
    migrate(v1, MIGRATIONS.slice(0, 1), join(dir, "backups"));
    v1.run("INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES ('mesh1', 'team', 'Team', 'ownerkey', 0)");
    v1.run("INSERT INTO members (id, mesh_id, pubkey, display_name, role, joined_at) VALUES ('m1', 'mesh1', 'ownerkey', 'owner', 'owner', 0)");
    const box = pubkey();
    const insert = v1.query(
      `INSERT INTO messages (seq, id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target, priority, nonce, ciphertext, created_at, expires_at)
       VALUES (?, ?, 'mesh1', 'm1', 'ownerkey', 'owner', ?, 'direct', ?, 'next', 'bm9uY2U=', 'Y3Q=', ?, ?)`,
    );
    const later = Date.now() + 3_600_000;
    for (const seq of [1, 2, 3]) insert.run(seq, `legacy-id-000${seq}`, `cmid-000${seq}`, box, Date.now(), later);
    // Queue rows in the old layout: their own seq, one claimed by a connection long gone.
    v1.run(`INSERT INTO queue (seq, mesh_id, recipient, message_seq, priority, expires_at, claimed_by) VALUES
      (10, 'mesh1', '${box}', 1, 'next', ${later}, 'conn-old'), (11, 'mesh1', '${box}', 3, 'next', ${later}, NULL)`);
    v1.close();
    // A start killed while it copied the database left a half-written copy behind.
    mkdirSync(join(dir, "backups"), { recursive: true });
    for (const f of ["pre-migrate-v1-1700000000000.db.partial", "pre-migrate-v1-1700000000000.db.partial-journal"]) writeFileSync(join(dir, "backups", f), "half");
    writeFileSync(join(dir, "backups", "mine.db.partial"), "not ours to remove");

    const store = await tmp.open(dir);
    expect(versions(store.db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(count(store, "messages")).toBe(3);
    expect(await store.queueDepth({ meshId: "mesh1", pubkey: box })).toBe(2);
    const got = await store.claim("mesh1", [box], { conn: "c", limit: 10 });
    expect(got.map((m) => [m.seq, m.id])).toEqual([[1, "legacy-id-0001"], [3, "legacy-id-0003"]]);
    // The de-duplication keys were rebuilt: a retry of a stored message is recognised.
    expect((await store.findSent("mesh1", "ownerkey", "cmid-0002"))?.message.id).toBe("legacy-id-0002");
    expect(await store.ack("mesh1", [box], ["legacy-id-0001"], Date.now())).toBe(1);
    expect(await store.queueDepth({ meshId: "mesh1", pubkey: box })).toBe(1);
    // The copy taken before migrating: private like the database, complete, and named only once whole.
    const backups = readdirSync(join(dir, "backups"));
    expect(backups.sort()).toEqual(["mine.db.partial", expect.stringMatching(/^pre-migrate-v1-\d+\.db$/)]);
    const copy = join(dir, "backups", backups.find((f) => f.startsWith("pre-migrate"))!);
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    const old = openDatabase(copy, { synchronous: "normal" });
    expect(old.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM messages").get()!.n).toBe(3);
    old.close();
  });
});

/** Back to version 8 as it was: no indexes by member, issuer or mesh, no record of 0009. */
function backToVersion8(db: Database): void {
  dropIndexesOf(db, 9);
  db.run("DELETE FROM schema_migrations WHERE version >= 9");
}

/** Back to version 7 as it was: no session indexes, no record of 0008. */
function backToVersion7(db: Database): void {
  backToVersion8(db);
  db.run("DROP INDEX sessions_live");
  db.run("DROP INDEX sessions_age");
  db.run("DELETE FROM schema_migrations WHERE version >= 8");
}

/** How SQLite reads the listed statement, one step per `|`. Prepared apart and finalised: a cached
 *  EXPLAIN of an UPDATE stays "in progress", and the store's next COMMIT fails with SQLITE_BUSY. */
function planOf(db: Database, sql: string): string {
  const explain = db.prepare<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`);
  try {
    return explain.all().map((r) => r.detail).join(" | ");
  } finally {
    explain.finalize();
  }
}
const LIVE = "SELECT * FROM sessions WHERE mesh_id = 'm' AND ended_at IS NULL AND last_seen_at >= 0 ORDER BY last_seen_at DESC, pubkey";

describe("upgrade from version 7", () => {
  test("0008: the sessions stored before it stay, and a mesh's live ones are then read through the new index", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { owner } = await seedMesh(store);
    const seen = { meshId: owner.meshId, memberId: owner.id, displayName: "owner/a", cwd: "/a", hostname: "h", attestation: null };
    const [live, ended] = [pubkey(), pubkey()];
    await store.upsertSession({ ...seen, pubkey: live, lastSeenAt: 1_000 });
    await store.upsertSession({ ...seen, pubkey: ended, lastSeenAt: 2_000 });
    await store.endSession(owner.meshId, ended, 3_000);
    backToVersion7(store.db);
    expect(planOf(store.db, LIVE)).toStartWith("SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (mesh_id=?)");
    store.close();

    const upgraded = await tmp.open(dir);
    expect(versions(upgraded.db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(planOf(upgraded.db, LIVE)).toStartWith("SEARCH sessions USING INDEX sessions_live (mesh_id=? AND last_seen_at>?)");
    expect((await upgraded.listSessions(owner.meshId, 0)).map((s) => s.pubkey)).toEqual([live]);
    expect(await upgraded.getSession(owner.meshId, ended)).toMatchObject({ endedAt: 3_000, lastSeenAt: 2_000 });
  });
});

describe("upgrade from version 8", () => {
  test("0009: invites, topics, memberships and grants stored before it stay, are then read through the new indexes, and open invites from before count", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(store);
    const bob = await addMember(store, owner, "bob");
    await store.setGrant(mesh.id, bob.id, owner.pubkey, ["dm"], bob.id);
    await store.joinGroup(mesh.id, "ops", bob.id);
    const topic = await store.createTopic(mesh.id, "deploys", "", bob.id);
    await invite(store, owner, { expiresAt: Math.floor(Date.now() / 1000) - 1 }); // expired: counts for nothing
    const open: string[] = [];
    for (let i = 0; i < MAX_OPEN_INVITES_PER_MEMBER; i++) open.push((await invite(store, owner)).id);
    backToVersion8(store.db);
    const reads = () => Object.fromEntries(Object.entries(BY_MEMBER).map(([what, sql]) => [what, planOf(store.db, sql.replaceAll("?", "'x'"))]));
    expect(Object.values(reads()).filter((p) => / USING (COVERING )?INDEX (invites_|group_members_member|topic_members_member|topics_creator|grants_mesh)/.test(p))).toEqual([]);
    store.close();

    const upgraded = await tmp.open(dir);
    expect(versions(upgraded.db)).toEqual(MIGRATIONS.map((m) => m.version));
    const plans = Object.fromEntries(Object.entries(BY_MEMBER).map(([what, sql]) => [what, planOf(upgraded.db, sql.replaceAll("?", "'x'"))]));
    expect(plans).toEqual({
      openInvites: "SEARCH invites USING INDEX invites_open (mesh_id=? AND issuer_member_id=? AND expires_at>?)",
      meshInvites: "SEARCH invites USING INDEX invites_mesh (mesh_id=?)",
      sealedExpired: "SEARCH invites USING INDEX invites_sealed (expires_at<?)",
      groupsOf: "SEARCH group_members USING COVERING INDEX group_members_member (member_id=? AND mesh_id=?)",
      topicsOf: "SEARCH tm USING COVERING INDEX topic_members_member (member_id=?) | SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
      topicsMade: "SEARCH topics USING COVERING INDEX topics_creator (mesh_id=? AND created_by=?)",
      meshGrants: "SEARCH grants USING INDEX grants_mesh (mesh_id=?)",
    });
    expect({ grants: (await upgraded.meshGrants(mesh.id)).map((g) => [g.recipientMemberId, g.caps]), groups: await upgraded.memberGroups(mesh.id, bob.id), topics: await upgraded.memberTopics(mesh.id, bob.id), invites: (await upgraded.listInvites(mesh.id, { afterInviteId: null, inviteId: null, limit: MAX_PAGE, openAt: null })).invites.length }).toEqual({
      grants: [[bob.id, ["dm"]]],
      groups: ["ops"],
      topics: [1, topic.id],
      invites: MAX_OPEN_INVITES_PER_MEMBER + 2,
    });
    // The owner's open invites from before the upgrade count: the next is refused until one closes.
    await expect(invite(upgraded, owner)).rejects.toMatchObject({ code: "invalid_argument" });
    await upgraded.revokeInvite(mesh.id, open[0]!, owner.id);
    expect((await invite(upgraded, owner)).issuerMemberId).toBe(owner.id);
  });
});

/** The statements that read by member, issuer or mesh through 0009's indexes, as the store runs them. */
const BY_MEMBER = {
  openInvites: "SELECT count(*) AS n FROM invites WHERE mesh_id = ? AND issuer_member_id = ? AND revoked_at IS NULL AND used_count < max_uses AND expires_at > 0",
  meshInvites: "SELECT * FROM invites WHERE mesh_id = ? ORDER BY created_at, rowid",
  sealedExpired: "UPDATE invites SET keys_blob = NULL WHERE keys_blob IS NOT NULL AND expires_at <= 0",
  groupsOf: "SELECT group_name FROM group_members WHERE mesh_id = ? AND member_id = ? ORDER BY group_name",
  topicsOf: "SELECT tm.topic_id FROM topic_members tm JOIN topics t ON t.id = tm.topic_id WHERE tm.member_id = ? AND t.mesh_id = ? ORDER BY tm.topic_id",
  topicsMade: "SELECT count(*) AS n FROM topics WHERE mesh_id = ? AND created_by = ?",
  meshGrants: "SELECT recipient_member_id, sender_pubkey, caps FROM grants WHERE mesh_id = ?",
};

/** Back to version 6 as it was: no queue.for_next_session, no record of 0007. */
function backToVersion6(db: Database): void {
  backToVersion7(db);
  db.run("ALTER TABLE queue DROP COLUMN for_next_session");
  db.run("DELETE FROM schema_migrations WHERE version >= 7");
}

describe("upgrade from version 6", () => {
  test("0007: entries queued before it stay unmarked (the terminal's, as they were); new ones are marked", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { owner } = await seedMesh(store);
    const bob = await addMember(store, owner, "bob");
    const [before] = await store.commitSends([directMessage(owner, [bob.pubkey])], 0);
    backToVersion6(store.db);
    store.close();

    const upgraded = await tmp.open(dir);
    expect(versions(upgraded.db)).toEqual(MIGRATIONS.map((m) => m.version));
    const [after] = await upgraded.commitSends([directMessage(owner, [bob.pubkey], { forNextSession: new Set([bob.pubkey]) })], 0);
    const session = pubkey();
    expect((await upgraded.handOverToSession({ meshId: bob.meshId, memberPubkey: bob.pubkey, sessionPubkey: session, quota: 100, nowMs: Date.now() })).copied).toHaveLength(1);
    const got = await upgraded.claim(bob.meshId, [session], { conn: "c", limit: 10 });
    expect(got.map((m) => m.id)).toEqual([after!.message.id]);
    // The member key keeps both, for the terminal.
    expect((await upgraded.claim(bob.meshId, [bob.pubkey], { conn: "t", limit: 10 })).map((m) => m.id)).toEqual([before!.message.id, after!.message.id]);
  });
});

/** Back to version 5 as it was: no messages.undeliverable, no record of 0006. */
function backToVersion5(db: Database): void {
  backToVersion6(db);
  db.run("ALTER TABLE messages DROP COLUMN undeliverable");
  db.run("DELETE FROM schema_migrations WHERE version >= 6");
}

/** Back to version 4 as it was: nor members.revoked_by, no record of 0005. */
function backToVersion4(db: Database): void {
  backToVersion5(db);
  db.run("ALTER TABLE members DROP COLUMN revoked_by");
  db.run("DELETE FROM schema_migrations WHERE version >= 5");
}

describe("upgrade from version 5", () => {
  test("0006: a message stored before it is still a retry's original, with no undeliverable list", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { owner } = await seedMesh(store);
    const [sent] = await store.commitSends([directMessage(owner, [pubkey()])], 0);
    backToVersion5(store.db);
    store.close();

    const upgraded = await tmp.open(dir);
    expect(versions(upgraded.db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await upgraded.findSent(owner.meshId, owner.pubkey, sent!.message.clientMessageId)).toEqual({ message: sent!.message, undeliverable: [] });
  });
});

describe("upgrade from version 4", () => {
  test("0005 takes who ended each membership from the audit chain, whatever the reason text says", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(store);
    const [leaver, kicked, banned, unrecorded] = [await addMember(store, owner, "leaver"), await addMember(store, owner, "kicked"), await addMember(store, owner, "banned"), await addMember(store, owner, "unrecorded")];
    // Both rows say "left"; only the audit chain (member_left vs member_revoked) tells them apart.
    await store.revokeMember(mesh.id, leaver.id, { actor: leaver.id, ban: false, reason: "left", self: true });
    await store.revokeMember(mesh.id, kicked.id, { actor: owner.id, ban: false, reason: "left", self: false });
    await store.revokeMember(mesh.id, banned.id, { actor: owner.id, ban: true, reason: null, self: false });
    // A removal the chain never recorded, and a damaged entry (not JSON) that its search reads past:
    // neither stops the upgrade, and the first is not made a leave by its reason.
    store.db.run("UPDATE members SET revoked_at = 1, revoked_reason = 'left' WHERE id = ?", [unrecorded.id]);
    store.db.run("INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash) VALUES (?, 9999, 'member_revoked', 'x', '{not json', '', '', '')", [mesh.id]);
    backToVersion4(store.db);
    store.close();

    const upgraded = await tmp.open(dir);
    expect(versions(upgraded.db)).toEqual(MIGRATIONS.map((m) => m.version));
    const by = Object.fromEntries((await upgraded.listMembers(mesh.id)).map((m) => [m.displayName, [m.revokedReason, m.revokedBy]]));
    expect(by).toEqual({ [owner.displayName]: [null, null], leaver: ["left", leaver.id], kicked: ["left", owner.id], banned: [null, owner.id], unrecorded: ["left", null] });
  });

  test("0005 agrees with the start's replay: another mesh's entries, a second removal and odd payloads are read past", async () => {
    const dir = tmp.make();
    const store = await tmp.open(dir);
    const [a, b] = [await seedMesh(store, "a"), await seedMesh(store, "b")];
    const [x, y, z, w] = [await addMember(store, a.owner, "x"), await addMember(store, a.owner, "y"), await addMember(store, a.owner, "z"), await addMember(store, a.owner, "w")];
    const audit = new AuditRepo(store.db);
    // Entries with valid hashes, as no broker writes them: mesh b's chain naming x, before x leaves
    // mesh a; a member id that is a number; a payload that is an array; a memberId one level down.
    audit.append({ meshId: b.mesh.id, eventType: "member_revoked", actor: b.owner.id, payload: { memberId: x.id } });
    audit.append({ meshId: a.mesh.id, eventType: "member_revoked", actor: a.owner.id, payload: { memberId: 5 } });
    audit.append({ meshId: a.mesh.id, eventType: "member_revoked", actor: a.owner.id, payload: [w.id] as never });
    audit.append({ meshId: a.mesh.id, eventType: "member_left", actor: a.owner.id, payload: { of: { memberId: w.id } } });
    await store.revokeMember(a.mesh.id, x.id, { actor: x.id, ban: false, reason: "left", self: true });
    // Removed twice, as versions before session 31 could write when two removals raced (the
    // repository now refuses the second): a second entry, the first actor kept, a ban added.
    const again = (m: { id: string }, actor: string, self: boolean, ban: boolean) => {
      store.db.query("UPDATE members SET banned = MAX(banned, ?) WHERE id = ?").run(ban ? 1 : 0, m.id);
      audit.append({ meshId: a.mesh.id, eventType: self ? "member_left" : "member_revoked", actor, payload: self ? { memberId: m.id } : { memberId: m.id, ban, reason: null } });
    };
    await store.revokeMember(a.mesh.id, y.id, { actor: a.owner.id, ban: false, reason: "left", self: false });
    again(y, y.id, true, false);
    await store.revokeMember(a.mesh.id, z.id, { actor: z.id, ban: false, reason: "left", self: true });
    again(z, a.owner.id, false, true);
    await store.revokeMember(a.mesh.id, w.id, { actor: a.owner.id, ban: false, reason: null, self: false });
    const revokedBy = (db: Database) => db.query<{ id: string; by: string | null }, []>("SELECT id, revoked_by AS by FROM members ORDER BY id").all();
    const written = revokedBy(store.db);
    backToVersion4(store.db);
    store.close();

    const upgraded = await tmp.open(dir);
    expect(revokedBy(upgraded.db)).toEqual(written);
    expect(written.filter((r) => r.by !== null)).toEqual(expect.arrayContaining([{ id: x.id, by: x.id }, { id: y.id, by: a.owner.id }, { id: z.id, by: z.id }, { id: w.id, by: a.owner.id }]));
    expect(await verifyEveryChain(upgraded, securityFacts(upgraded.db), await upgraded.auditSizes())).toMatchObject({ meshes: 2, broken: null });
  });
});

describe("health and backup", () => {
  test("health reports the schema version and never throws", async () => {
    const store = await tmp.open();
    expect(await store.health()).toEqual({ writable: true, schemaVersion: LATEST_VERSION, expectedVersion: LATEST_VERSION, error: null });
    store.close();
    const closed = await store.health();
    expect(closed.writable).toBe(false);
    expect(closed.error).toBeString();
  });
});
