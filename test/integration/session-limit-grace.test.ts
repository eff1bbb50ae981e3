// A member's session limit (docs/protocol.md §2.6, §8.1 MAX_SESSIONS_PER_MEMBER) counts connected
// sessions: one that dropped and waits out its presence grace is offline. A new session past the
// limit ends the one gone longest (peers hear peer_left at once), while the rest can still
// re-attach within their grace. Before, all 64 dropping together refused every new session with
// `capacity` for the whole grace.
import { expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MAX_SESSIONS_PER_MEMBER } from "../../src/protocol/limits.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { connectSession } from "../helpers/next-session.ts";
import { until } from "../helpers/until.ts";

test("a member whose 64 sessions all dropped connects a new one within their grace; the one gone longest is ended, the others re-attach", async () => {
  await using b = await startBroker({ presenceGrace: 30_000 });
  const { owner } = await createTestMesh(b.url);
  const bob = await connect(b.url, await addMember(b.url, owner, "bob"));
  const keys = Array.from({ length: MAX_SESSIONS_PER_MEMBER }, () => generateSigningKeypair());
  const sessions = [];
  for (const k of keys) sessions.push(await connectSession(b.url, owner, k));
  const graced = (i: number) => b.ctx.hub.get(owner.meshId, keys[i]!.publicKey)?.conns.size === 0;
  for (const [i, s] of sessions.entries()) {
    s.close();
    await until(() => graced(i), `session ${i} in its grace`);
    await Bun.sleep(2); // each leaves at its own millisecond: the first is the one gone longest
  }

  const fresh = await connectSession(b.url, owner);
  expect(fresh.ack.reattached).toBe(false);
  const first = keys[0]!.publicKey;
  await bob.waitEvent((e) => e.event === "peer_left" && e.data.pubkey === first);
  const db = (b.ctx.store as SqliteStore).db;
  expect({ presence: b.ctx.hub.get(owner.meshId, first), ended: db.query("SELECT ended_at IS NOT NULL AS e FROM sessions WHERE pubkey = ?").get(first) }).toEqual({ presence: undefined, ended: { e: 1 } });
  // Nobody else left: the others are still in their grace, and one that comes back re-attaches.
  expect(bob.events.filter((e) => e.event === "peer_left").map((e) => e.data.pubkey)).toEqual([first]);
  const back = await connectSession(b.url, owner, keys.at(-1)!);
  expect(back.ack.reattached).toBe(true);
  for (const p of [bob, fresh, back]) p.close();
}, 60_000);
