// Reliability plan T10, socket churn: for a while, every 100 ms a link is destroyed at a bad
// moment while real clients (src/client) send DMs with client message ids and ack what they get.
// The clients reach the broker through a proxy that cuts a link half-way through a frame, right
// after a frame went up and before its answer came back (between a send or an ack and its
// result), or half-way through a reconnecting client's hello; raw sockets beside them write half
// a hello, or authenticate and write half a frame, and vanish. Must hold: the T1 invariants
// (test/helpers/chaos.ts checkHistory); afterwards no connection left counted (the gauge, the
// broker's presences), list_peers shows each peer once, the broker still answers, and nothing
// failed inside it: no error in its log and no unhandled rejection.
// CI: 2 s of churn, longer until every client was cut once. CHAOS_LONG=1: CHAOS_CHURN_S seconds
// (default 300).
// FUZZ_SEED replays a schedule; CHAOS_HISTORY=<file> writes the history as JSONL.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildHello } from "../../src/client/credentials.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, type TestMember } from "../helpers/mesh.ts";
import { Op, tcpWebSocket, wsFrame } from "../helpers/raw.ts";
import { churnProxy } from "../helpers/tcp-proxy.ts";
import { chaosRandom, checkHistory, listedPeers, settled, startRing } from "../helpers/chaos.ts";

const LONG = process.env.CHAOS_LONG === "1";
const CHURN_MS = LONG ? Number(process.env.CHAOS_CHURN_S ?? 300) * 1000 : 2_000;
/** Longest a client takes to be back once the churn stops: its backoff grows with every reconnect
 *  cut short (up to 30 s between attempts after a long churn). */
const BACK_MS = LONG ? 60_000 : 15_000;

const failures: unknown[] = [];
const onFailure = (err: unknown) => void failures.push(err);
beforeAll(() => void process.on("unhandledRejection", onFailure).on("uncaughtException", onFailure));
afterAll(() => void process.off("unhandledRejection", onFailure).off("uncaughtException", onFailure));

/** A raw socket straight to the broker that writes part of a frame and is destroyed: part of the
 *  hello itself, or (authenticated as `m`) part of a send after the hello_ack. */
async function halfFrame(port: number, m: TestMember, afterHello: boolean, random: () => number): Promise<void> {
  const s = await tcpWebSocket(port);
  const hello = JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: "churn", pid: 1, cwd: "/churn" }));
  let frame = wsFrame(Op.text, hello);
  if (afterHello) {
    s.sendText(hello);
    await s.until(() => s.frames.length > 0 || s.closed() !== null, 5_000, "the hello_ack");
    frame = wsFrame(Op.text, JSON.stringify({ type: "send", id: "1", to: m.keys.publicKey, clientMessageId: "never-whole", nonce: "AA", ciphertext: "AA" }));
  }
  s.sock.write(frame.subarray(0, 1 + Math.floor(random() * (frame.length - 1))));
  s.sock.destroy();
  await s.ended;
}

const WAYS = ["mid-frame", "after-chunk", "mid-hello", "raw-hello", "raw-frame"] as const;

test("links destroyed mid-frame, mid-hello and between a send and its result lose, invent and reorder nothing, and leak nothing", async () => {
  const random = chaosRandom("socket-churn");
  await using b = await startBroker({ pingInterval: 300, presenceGrace: 200, helloTimeout: 1000 });
  using proxy = await churnProxy(b.port);
  const ring = await startRing(b.url, proxy.url);
  const churner = await addMember(b.url, ring.owner, "churner");

  const raws = { "raw-hello": 0, "raw-frame": 0 };
  const raw: Promise<void>[] = [];
  const pick = (n: number) => Math.floor(random() * n);
  // Past CHURN_MS the churn goes on (up to 10 s more) until every client has lost its link at least
  // once: which links a cut picks is random.
  const end = performance.now() + CHURN_MS;
  const churning = () => performance.now() < end || (performance.now() < end + 10_000 && ring.actors.some((a) => a.drops === 0));
  for (; churning(); await Bun.sleep(100)) {
    const how = WAYS[pick(WAYS.length)]!;
    if (how === "raw-hello" || how === "raw-frame") {
      raw.push(halfFrame(b.port, churner, how === "raw-frame", random));
      raws[how]++;
    } else if (!proxy.cut(how, pick)) continue; // every link was down already
    ring.h.note(how);
  }
  proxy.calm();
  await Promise.all(raw);
  await ring.finish(BACK_MS);

  expect(checkHistory(ring.h)).toEqual([]);
  console.log("churn:", JSON.stringify({ ...proxy.made, ...raws }), "drops:", ring.actors.map((a) => `${a.name} ${a.drops}`).join(", "));
  expect(ring.actors.map((a) => a.drops > 0)).toEqual(ring.actors.map(() => true));
  await settled(b.url, b.firstRunToken!, ring.actors.length);
  expect(await listedPeers(ring.actors[0]!.peer.client)).toEqual(ring.peersAtRest([churner.keys.publicKey]));
  expect((await fetch(`${b.url}/health`)).status).toBe(200);
  expect(b.logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  expect(failures).toEqual([]);
  for (const a of ring.actors) a.peer.close();
}, CHURN_MS + 70_000);
