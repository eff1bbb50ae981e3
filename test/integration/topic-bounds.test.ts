// How many topics one member may create (docs/protocol.md §4.3.11, MAX_TOPICS_PER_MEMBER), against
// a real broker on port 0. Topics are never deleted and `topic_list` lists them all, each with a
// description of up to 512 characters, to every member who asks: before the bound one member's
// creations (100 at once, then 5 a second) made that answer larger than the 40 MiB a client reads
// within about four hours, and `claudemesh topic list` failed for the whole mesh from then on.
import { expect, test } from "bun:test";
import { MAX_TOPICS_PER_MEMBER } from "../../src/protocol/limits.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";

test("a member's topic_create past the bound is refused and stores nothing; another member still creates", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const mallory = await addMember(b.url, owner, "mallory");
  // Made through the store (the change allowance would take minutes on the wire): as if created
  // one by one over the hours before.
  for (let i = 0; i < MAX_TOPICS_PER_MEMBER; i++) await b.ctx.store.createTopic(mallory.meshId, `m${i}`, "x".repeat(512), mallory.memberId);
  const m = await connect(b.url, mallory, { receive: "pull" });
  const o = await connect(b.url, owner, { receive: "pull" });
  const before = await o.client.request("audit_verify", {});
  const refused = await m.client.request("topic_create", { name: "one-more", description: "" }).catch((e) => ({ code: e.code, message: e.message }));
  expect(refused).toEqual({ code: "invalid_argument", message: `You created ${MAX_TOPICS_PER_MEMBER} topics of this mesh, the most a member may create (topics are never deleted): post in one of them instead.` });
  expect({ topics: (await o.client.request("topic_list", {})).topics.length, audit: (await o.client.request("audit_verify", {})).entries }).toEqual({ topics: MAX_TOPICS_PER_MEMBER + 1, audit: before.entries });
  expect((await o.client.request("topic_create", { name: "one-more", description: "" })).topic.name).toBe("one-more");
  m.close();
  o.close();
}, 60_000);
