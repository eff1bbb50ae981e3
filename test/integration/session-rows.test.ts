// The rows of sessions long over (docs/operations.md, "Old session rows"): the sweep deletes a
// session's row a message TTL after its session_end, or two after it was last seen when it never
// ended, and not while its mailbox holds anything. What must outlive such a row does: a block a
// reader set on the session's key, the audit chain. And a session hello reads only its own member's
// session rows (through sessions_member), however many rows the rest of the mesh holds.
import type { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sweepRound } from "../../src/broker/timers.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, textOf, type TestMember } from "../helpers/mesh.ts";
import { connectSession } from "../helpers/next-session.ts";
import { until } from "../helpers/until.ts";

const MINUTE = 60_000;
const dbOf = (b: TestBroker) => (b.ctx.store as SqliteStore).db;

/** Which of `named` keys still have a sessions row, by name. */
function rowsOf(b: TestBroker, named: Record<string, SigningKeypair>): string[] {
  const have = new Set(dbOf(b).query<{ pubkey: string }, []>("SELECT pubkey FROM sessions").all().map((r) => r.pubkey));
  return Object.entries(named).filter(([, k]) => have.has(k.publicKey)).map(([name]) => name);
}

/** A session of `m` with these keys that says session_end, as Claude Code's SessionEnd does. */
async function endedSession(b: TestBroker, m: TestMember, keys: SigningKeypair, before?: (s: Awaited<ReturnType<typeof connectSession>>) => Promise<unknown>) {
  const s = await connectSession(b.url, m, keys);
  await before?.(s);
  expect(await s.client.request("session_end", {})).toEqual({ ended: true });
  s.close();
  await until(() => b.ctx.hub.get(m.meshId, keys.publicKey) === undefined, "the ended session's presence gone");
}

test("the sweep deletes the rows of sessions long over and keeps what is still needed", async () => {
  await using b = await startBroker({ presenceGrace: 0 });
  const ttl = b.ctx.config.messageTtl;
  const { owner } = await createTestMesh(b.url);
  const [bob, carol] = [await addMember(b.url, owner, "bob"), await addMember(b.url, owner, "carol")]; // carol never connects
  const bobPeer = await connect(b.url, bob);
  const k = { quiet: generateSigningKeypair(), noted: generateSigningKeypair(), dropped: generateSigningKeypair(), live: generateSigningKeypair() };
  await endedSession(b, owner, k.quiet);
  // Its DM to carol will expire unread: the expiry notice then waits in its (ended) mailbox.
  await endedSession(b, owner, k.noted, (s) => sendText(s, carol.keys.publicKey, "for carol"));
  const dropped = await connectSession(b.url, owner, k.dropped);
  dropped.close();
  await until(() => b.ctx.hub.get(owner.meshId, k.dropped.publicKey) === undefined, "the dropped session's presence gone");
  const live = await connectSession(b.url, owner, k.live);
  /** What the liveness round stores for a connected session every half TTL (timers.ts), which a
   *  broker clock moved by days cannot run: it would close the connection for its attestation. */
  const liveSeen = () => b.ctx.store.setPresence(owner.meshId, k.live.publicKey, { lastSeenAt: b.ctx.now() });

  // A minute before the TTL since all of them: every row stays. Bob reads what the quiet session
  // sent him only now, and blocks its key; the dropped session is still a peer, with its attestation.
  brokerClock(b, ttl - MINUTE);
  await sweepRound(b.ctx);
  expect(rowsOf(b, k)).toEqual(["quiet", "noted", "dropped", "live"]);
  expect(await bobPeer.client.request("grant_set", { peer: k.quiet.publicKey, caps: [] })).toEqual({ peer: k.quiet.publicKey, caps: [] });
  const { peers } = await bobPeer.client.request("list_peers", {});
  expect(peers.find((p) => p.pubkey === k.dropped.publicKey)?.attestation?.sessionPubkey).toBe(k.dropped.publicKey);

  // A minute past it: the quiet session's row goes. The noted one stays while the notice of its
  // expired DM waits in its mailbox (a member's removal finds that mailbox through the row), the
  // dropped one for a second TTL, the connected one for good.
  brokerClock(b, ttl + MINUTE);
  await liveSeen();
  await sweepRound(b.ctx);
  expect(rowsOf(b, k)).toEqual(["noted", "dropped", "live"]);
  expect(dbOf(b).query("SELECT COUNT(*) AS n FROM queue WHERE recipient = ?").get(k.noted.publicKey)).toEqual({ n: 1 });
  // A key no row holds is unknown to grant_set; the block set while it was known stays.
  await expect(bobPeer.client.request("grant_set", { peer: k.quiet.publicKey, caps: ["dm"] })).rejects.toMatchObject({ code: "unknown_recipient" });
  expect((await bobPeer.client.request("grant_list", {})).grants).toEqual([{ peer: k.quiet.publicKey, caps: [] }]);

  // Past the notice's own TTL and two TTLs since the drop: both go, in one round.
  brokerClock(b, 2 * ttl + 2 * MINUTE);
  await liveSeen();
  await sweepRound(b.ctx);
  expect(rowsOf(b, k)).toEqual(["live"]);

  // The quiet session's key comes back (the same member attests it again): a new row, and bob's
  // block of that key still holds. The chain, which never recorded sessions, still verifies.
  brokerClock(b, 0);
  const back = await connectSession(b.url, owner, k.quiet);
  await sendText(back, bob.keys.publicKey, "blocked");
  await sendText(live, bob.keys.publicKey, "allowed");
  await bobPeer.waitMessages(1);
  await Bun.sleep(150); // time for the blocked one to arrive, if it were coming
  expect(bobPeer.messages.map(textOf)).toEqual(["allowed"]);
  expect(await bobPeer.client.request("audit_verify", {})).toMatchObject({ valid: true, brokenAt: null });
  for (const p of [bobPeer, live, back]) p.close();
}, 30_000);

test("a session hello reads its member's session rows through the member's index, not the mesh's; and still works past 20,000 ended ones", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const db = dbOf(b);
  const insert = db.query("INSERT INTO sessions (mesh_id, pubkey, member_id, display_name, first_seen_at, last_seen_at, ended_at) VALUES (?, ?, ?, 'owner/old', ?, ?, ?)");
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run(owner.meshId, randomBytes(32).toString("hex"), owner.memberId, now - i * MINUTE, now - i * MINUTE, now - i * MINUTE + 1);
  })();
  // Every statement over `sessions` that a session hello prepares, with how SQLite runs it.
  const seen = new Set<string>();
  const query = db.query.bind(db);
  (db as { query: Database["query"] }).query = ((sql: string) => {
    if (/\bFROM sessions\b/.test(sql) && !sql.startsWith("EXPLAIN")) seen.add(sql);
    return query(sql);
  }) as Database["query"];
  const s = await connectSession(b.url, owner);
  (db as { query: Database["query"] }).query = query;
  const plans = [...seen].map((sql) => query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => r.detail).join(" | "));
  // The member's live sessions, for its session limit: through the member's own rows (its ended
  // ones included, until the sweep deletes them), not every live session of the mesh.
  expect(plans.filter((p) => !p.includes("sqlite_autoindex_sessions_1 (mesh_id=? AND pubkey=?)"))).toEqual([
    "SEARCH sessions USING INDEX sessions_member (member_id=?) | USE TEMP B-TREE FOR ORDER BY",
  ]);
  // And the hello's answer: none of the 20,000 is live, so none counted against the limit.
  expect({ ack: s.ack.type, unended: db.query("SELECT COUNT(*) AS n FROM sessions WHERE ended_at IS NULL").get() }).toEqual({ ack: "hello_ack", unended: { n: 1 } });
  s.close();
}, 60_000);
