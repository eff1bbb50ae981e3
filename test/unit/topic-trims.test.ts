// Topic history retention under random posts, acks and expiries, against the rule it implements:
// once the sweep has run through, a topic keeps exactly the offsets inside its window and those
// behind it that a mailbox still holds. And the sweep looks only at topics where something could
// have been freed since it last looked (topic-trims.ts): a sweep with nothing new looks at none.
// After a restart a topic's window is known again from its next post; until then its rows behind
// the window may stay (never one inside it or held).
import { afterEach, expect, test } from "bun:test";
import { seeded } from "../../bench/seeded.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Topic } from "../../src/store/types.ts";
import { addMember, directMessage, seedMesh, sweepAll, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const WINDOW = 3;

const offsets = (store: SqliteStore, topic: Topic, sql: string) =>
  store.db
    .query<{ o: number }, [number]>(sql)
    .all(topic.id)
    .map((r) => r.o);
const kept = (store: SqliteStore, topic: Topic) => offsets(store, topic, "SELECT topic_offset AS o FROM messages WHERE topic_id = ? ORDER BY o");
const held = (store: SqliteStore, topic: Topic) =>
  offsets(store, topic, "SELECT DISTINCT m.topic_offset AS o FROM queue q JOIN messages m ON m.seq = q.message_seq WHERE m.topic_id = ? ORDER BY o");

for (const seed of [1, 2, 3, 4]) {
  test(`seed ${seed}: after a sweep, the window and the held rows behind it are what is kept; a sweep with nothing new looks at nothing`, async () => {
    const rnd = seeded(seed);
    const dir = tmp.make();
    let store = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(store);
    const boxes = [(await addMember(store, owner, "p1")).pubkey, (await addMember(store, owner, "p2")).pubkey];
    const topics = [await store.createTopic(mesh.id, "one", "", owner.id), await store.createTopic(mesh.id, "two", "", owner.id)];
    const last = new Map<number, number>();
    const postedSinceStart = new Set<number>();
    let now = Date.now();
    let sweeps = 0;
    for (let step = 0; step < 400; step++) {
      const r = rnd();
      if (r < 0.03) {
        store.close();
        store = await tmp.open(dir);
        postedSinceStart.clear();
      } else if (r < 0.58) {
        const topic = topics[Math.floor(rnd() * topics.length)]!;
        const to = boxes.filter(() => rnd() < 0.3);
        const expiresAt = rnd() < 0.3 ? now + Math.floor(rnd() * 60) : now + 3_600_000;
        const [sent] = await store.commitSends([directMessage(owner, to, { kind: "topic", target: `#${topic.name}`, topic: topic.name, topicId: topic.id, expiresAt })], WINDOW);
        last.set(topic.id, sent!.message.topicOffset!);
        postedSinceStart.add(topic.id);
      } else if (r < 0.8) {
        const box = boxes[Math.floor(rnd() * boxes.length)]!;
        const ids = store.db.query<{ id: string }, [string]>("SELECT m.id FROM queue q JOIN messages m ON m.seq = q.message_seq WHERE q.recipient = ?").all(box).map((x) => x.id);
        await store.ack(mesh.id, [box], ids.filter(() => rnd() < 0.4), now);
      } else {
        await sweepAll(store, now, 60_000);
        sweeps++;
        for (const topic of topics) {
          const lastOffset = last.get(topic.id) ?? 0;
          const inWindow = Array.from({ length: Math.min(WINDOW, lastOffset) }, (_, i) => lastOffset - Math.min(WINDOW, lastOffset) + 1 + i);
          const want = [...new Set([...held(store, topic).filter((o) => o <= lastOffset - WINDOW), ...inWindow])].sort((a, b) => a - b);
          const got = kept(store, topic);
          if (postedSinceStart.has(topic.id)) expect({ step, topic: topic.name, kept: got }).toEqual({ step, topic: topic.name, kept: want });
          else expect({ step, topic: topic.name, missing: want.filter((o) => !got.includes(o)) }).toEqual({ step, topic: topic.name, missing: [] });
        }
        const scans = store.trims.looks;
        await sweepAll(store, now, 60_000);
        expect({ step, scannedAgain: store.trims.looks - scans }).toEqual({ step, scannedAgain: 0 });
      }
      now += Math.floor(rnd() * 10);
    }
    expect(sweeps).toBeGreaterThan(50);
    store.close();
  });
}

test("a busy topic whose readers keep up costs the sweep nothing: rows freed inside the window are left to the posts that push them out", async () => {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const reader = (await addMember(store, owner, "reader")).pubkey;
  const topic = await store.createTopic(mesh.id, "busy", "", owner.id);
  for (let i = 0; i < 200; i++) {
    const [sent] = await store.commitSends([directMessage(owner, [reader], { kind: "topic", target: "#busy", topic: "busy", topicId: topic.id })], WINDOW);
    await store.ack(mesh.id, [reader], [sent!.message.id], Date.now());
  }
  const looks = store.trims.looks;
  await sweepAll(store, Date.now(), 60_000);
  // One walk: the topic's first window move in this process. No freed row is looked at.
  expect(store.trims.looks - looks).toBe(1);
  expect(kept(store, topic)).toEqual([198, 199, 200]);
});
