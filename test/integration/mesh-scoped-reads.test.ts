// What one mesh's rows cost another mesh's requests. `topic_members` and `group_members` have no
// index by member, so a read "by member" went through every row of every mesh: 1,000,000 topic rows
// that one member made in a mesh of its own (members through claims, each joining topics) made
// every topic_list on the broker take 57 ms of the event loop instead of 0.2, and every kick 55 ms.
// The requests that read a member's topics or groups (topic_list, peer_lookup, a removal, a leave)
// now go through the mesh's part of a primary key. Pinned by the plan of every statement they run.
import { expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";

/** How SQLite runs each statement over topic_members or group_members that `run` prepares. */
async function plansDuring(db: Database, run: () => Promise<unknown>): Promise<string[]> {
  const seen = new Set<string>();
  const query = db.query.bind(db);
  (db as { query: Database["query"] }).query = ((sql: string) => {
    if (/\b(topic|group)_members\b/.test(sql) && !sql.startsWith("EXPLAIN")) seen.add(sql);
    return query(sql);
  }) as Database["query"];
  try {
    await run();
  } finally {
    (db as { query: Database["query"] }).query = query;
  }
  // Prepared apart and finalised: a cached EXPLAIN of a DELETE left "SQL statements in progress",
  // and the broker's next COMMIT failed with SQLITE_BUSY.
  return [...seen].map((sql) => {
    const explain = db.prepare<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`);
    try {
      return explain.all().map((r) => r.detail).join(" | ");
    } finally {
      explain.finalize();
    }
  });
}

test("topic_list, peer_lookup, a kick and a leave read a member's topics and groups through its mesh, never every row", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const [bob, carol] = [await addMember(b.url, owner, "bob"), await addMember(b.url, owner, "carol")];
  const o = await connect(b.url, owner, { receive: "pull" });
  const c = await connect(b.url, carol, { receive: "pull" });
  await o.client.request("group_join", { group: "ops" });
  await c.client.request("group_join", { group: "ops" });
  const db = (b.ctx.store as SqliteStore).db;
  const answers: unknown[] = [];
  const plans = [
    ...(await plansDuring(db, async () => answers.push((await o.client.request("topic_list", {})).topics.map((t) => [t.name, t.joined])))),
    ...(await plansDuring(db, async () => answers.push((await o.client.request("peer_lookup", { text: "owner" })).peers.map((p) => p.groups)))),
    ...(await plansDuring(db, () => o.client.request("member_revoke", { memberId: bob.memberId, ban: false }))),
    ...(await plansDuring(db, () => c.client.request("leave", {}))),
  ];
  expect(answers).toEqual([[["general", true]], [["ops"]]]);
  // Each of the four read or wrote those tables; none of them went through all of either.
  expect({ some: plans.length >= 4, scans: plans.filter((p) => /\bSCAN (topic|group)_members\b/.test(p)) }).toEqual({ some: true, scans: [] });
  expect(await o.client.request("topic_members", { topic: "general" })).toMatchObject({ members: [{ memberId: owner.memberId }] });
  o.close();
  c.close();
}, 60_000);
