// Diagnostic, not part of `bun run bench`: what a sweep costs when topics hold many rows behind
// their windows for a member who never comes back (store/sqlite/topic-trims.ts). TOPICS topics each
// get HELD posts queued for one offline member, past a window of WINDOW; then the sweep runs with
// nothing due (what every sweep met, every 30 s, until session 26), and after the member acked one
// post of one topic (what a returning reader makes the next sweep do).
// Run: bun run bench/probe-topic-sweep.ts [--topics 10] [--held 10000]
import { parseArgs } from "node:util";
import { addMember, directMessage, seedMesh, TempDirs } from "../test/unit/store-fixtures.ts";

const { values } = parseArgs({ options: { topics: { type: "string", default: "10" }, held: { type: "string", default: "10000" } } });
const TOPICS = Number(values.topics);
const HELD = Number(values.held);
const WINDOW = 100;

const tmp = new TempDirs();
try {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const absent = await addMember(store, owner, "absent");
  const topics = await Promise.all(Array.from({ length: TOPICS }, (_, i) => store.createTopic(mesh.id, `t${i}`, "", owner.id)));
  for (const topic of topics) {
    for (let i = 0; i < HELD; i += 500) {
      const batch = Array.from({ length: Math.min(500, HELD - i) }, () => directMessage(owner, [absent.pubkey], { kind: "topic", target: `#${topic.name}`, topic: topic.name, topicId: topic.id }));
      await store.commitSends(batch, WINDOW);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const sweepMs = async () => {
    const t = performance.now();
    await store.sweep(Date.now(), 60_000);
    return performance.now() - t;
  };
  await sweepMs(); // the first sweep after the posts looks at every topic whose window moved
  const idle: number[] = [];
  for (let i = 0; i < 11; i++) idle.push(await sweepMs());
  const afterAck: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [one] = await store.claim(mesh.id, [absent.pubkey], { conn: "probe", limit: 1 });
    await store.ack(mesh.id, [absent.pubkey], [one!.id], Date.now());
    afterAck.push(await sweepMs());
  }
  console.log(JSON.stringify({ topics: TOPICS, held_per_topic: HELD, idle_sweep_ms_median: +median(idle).toFixed(3), sweep_after_one_ack_ms_median: +median(afterAck).toFixed(3) }));
} finally {
  tmp.cleanup();
}
