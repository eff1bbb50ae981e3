// A query parameter a route reads (`after` on the dashboard's topic history) counts once: given
// twice, under any spelling that decodes to its name, it is a 400 invalid_argument naming it,
// rather than one of the values winning unsaid (docs/protocol.md §6.1, §6.7).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { dashboardSession } from "../helpers/dashboard.ts";

test("a repeated query parameter is refused; given once it counts", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const peer = await connect(b.url, owner);
  for (const text of ["one", "two", "three"]) await sendText(peer, "#general", text);
  const call = await dashboardSession(b, owner);
  const history = async (query: string) => {
    const res = await call("GET", `/v1/dashboard/topics/general/history${query}`);
    const body = (await res.json()) as { messages?: { topicOffset: number }[]; error?: { code: string; message: string } };
    return { status: res.status, offsets: body.messages?.map((m) => m.topicOffset), error: body.error && { code: body.error.code, message: body.error.message } };
  };
  const twice = { status: 400, offsets: undefined, error: { code: "invalid_argument", message: "The query parameter after is given 2 times; give it once." } };
  expect(await history("?after=1")).toEqual({ status: 200, offsets: [2, 3], error: undefined });
  expect(await history("?after=2")).toEqual({ status: 200, offsets: [3], error: undefined });
  expect(await history("?after=1&after=2")).toEqual(twice);
  expect(await history("?after=2&after=2")).toEqual(twice);
  expect(await history("?aft%65r=2&after=1")).toEqual(twice);
  expect(await history("?after=1&x=1&x=2")).toEqual({ status: 200, offsets: [2, 3], error: undefined }); // a parameter no route reads
  peer.close();
});
