// docs/protocol.md §4.3.1 `events` and §4.4.5: a hello names the event pushes its connection
// wants, and the broker sends it no other; a hello without the field hears every event, as every
// hello did before it. Raw sockets against a real broker, so each frame the broker sent is counted.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MAX_SUBSCRIBED_EVENTS } from "../../src/protocol/limits.ts";

type Listener = { frames: any[]; events: () => string[]; sync(): Promise<void>; close(): void };

/** A raw socket of `m` (a session of it with `session`) that said hello with `extra`; resolves at
 *  its hello_ack with every frame after it, or rejects with the refusal and close. */
function listen(url: string, m: TestMember, extra: Record<string, unknown>, session = false): Promise<Listener> {
  const creds = session
    ? { kind: "session" as const, meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: generateSigningKeypair() }
    : { kind: "member" as const, meshId: m.meshId, memberId: m.memberId, keys: m.keys };
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
  const frames: any[] = [];
  let refusal: any = null;
  return new Promise((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ ...buildHello(creds, { sessionId: "listener", pid: 1, cwd: "/tmp" }), ...extra }));
    ws.onclose = (ev) => reject(Object.assign(new Error(`closed ${ev.code} ${ev.reason}`), { refusal, code: ev.code, reason: ev.reason }));
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data));
      if (f.type === "error" && f.id === undefined) refusal = f;
      if (f.type !== "hello_ack") return void frames.push(f);
      resolve({
        frames,
        events: () => frames.filter((x) => x.type === "event").map((x) => `${x.event} ${x.data.displayName ?? ""}`.trim()),
        // Frames to one socket arrive in the order sent: once a request's result is in, every
        // event the broker sent this socket before it is in too.
        async sync() {
          const id = `sync-${frames.length}`;
          ws.send(JSON.stringify({ type: "list_peers", id }));
          await until(() => frames.some((x) => x.id === id), "the list_peers result");
        },
        close: () => ws.close(),
      });
    };
  });
}

describe("event subscriptions (hello `events`)", () => {
  test("a connection hears only the events it named, none with an empty list, all without the field", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const [ann, bea, cid, dan] = [await addMember(b.url, owner, "ann"), await addMember(b.url, owner, "bea"), await addMember(b.url, owner, "cid"), await addMember(b.url, owner, "dan")];
    const statusOnly = await listen(b.url, ann, { events: ["peer_status"] }, true); // a session_hello
    const none = await listen(b.url, bea, { events: [] });
    const all = await listen(b.url, cid, {}); // connected last: hears nothing of the two before it

    const d = await connect(b.url, dan); // peer_joined
    await d.client.request("set_status", { status: "working" }); // peer_status
    d.close(); // peer_left (no grace)
    await until(() => all.events().includes("peer_left dan"), "the listener without the field to hear dan leave");
    await Promise.all([statusOnly.sync(), none.sync(), all.sync()]);

    expect({ statusOnly: statusOnly.events(), none: none.events(), all: all.events() }).toEqual({
      statusOnly: ["peer_status dan"],
      none: [],
      all: ["peer_joined dan", "peer_status dan", "peer_left dan"],
    });
    for (const l of [statusOnly, none, all]) l.close();
  }, 30_000);

  test("an events field that is not a bounded list of event names is refused as malformed, naming it", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const refusal = (extra: Record<string, unknown>, session = false) =>
      listen(b.url, owner, extra, session).then(
        () => "admitted",
        (e) => `${e.code} ${e.reason}: ${e.refusal?.message}`,
      );
    const tooMany = Array.from({ length: MAX_SUBSCRIBED_EVENTS + 1 }, () => "peer_joined");
    expect({
      notAList: await refusal({ events: "peer_joined" }),
      notNames: await refusal({ events: [7] }),
      badName: await refusal({ events: ["peer_joined", "Peer Joined"] }, true),
      tooMany: await refusal({ events: tooMany }),
    }).toEqual({
      notAList: "1008 malformed: Invalid hello frame at /events: Expected array.",
      notNames: "1008 malformed: Invalid hello frame at /events/0: Expected string.",
      badName: "1008 malformed: Invalid session_hello frame at /events/1: Expected string to match '^[a-z][a-z0-9_]{0,31}$'.",
      tooMany: `1008 malformed: Invalid hello frame at /events: Expected array length to be less or equal to ${MAX_SUBSCRIBED_EVENTS}.`,
    });
    expect(b.ctx.hub.size).toBe(0);
  }, 30_000);

  test("a name this broker does not know is ignored: the hello is admitted and hears the names it knows", async () => {
    // A newer client may subscribe to an event a broker of the same protocol version does not send yet.
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const l = await listen(b.url, owner, { events: ["peer_danced", "peer_joined", "peer_joined"] });
    const bb = await connect(b.url, bob);
    await bb.client.request("set_status", { status: "working" });
    await until(() => l.events().length > 0, "bob's peer_joined");
    await l.sync();
    expect(l.events()).toEqual(["peer_joined bob"]);
    bb.close();
    l.close();
  }, 30_000);
});
