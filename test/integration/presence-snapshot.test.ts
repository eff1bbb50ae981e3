// The running broker's snapshots of its presences (src/broker/presence-snapshot.ts), and how the
// next start takes one in after a stop that wrote nothing (presence-carry.ts): written only when
// the presences changed, never by messages, replaced by a clean stop's record, bounded in size;
// a presence's grace counts from when the snapshot was last known true. Real broker on port 0,
// real clients; the crash itself is in crash-carry.test.ts (SIGKILL of `serve`).
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createTestMesh, sendText, addMember } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { CARRIED_KEY, SEEN_KEY, carriedText } from "../../src/broker/presence-carry.ts";
import { PresenceSnapshots } from "../../src/broker/presence-snapshot.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { steppableWallClock } from "../helpers/wall-clock.ts";

type Record_ = { takenAt?: number; stoppedAt?: number; presences: { identity: { pubkey: string; attestation?: unknown }; status: string; leftAt: number | null }[] };
const GRACE = 5_000; // snapshots every 833 ms

const record = async (b: TestBroker): Promise<Record_ | null> => {
  const text = await b.ctx.store.getMeta(CARRIED_KEY);
  return text ? (JSON.parse(text) as Record_) : null;
};
const snapshotOf = async (b: TestBroker, n: number) => {
  await until(async () => (await record(b))?.presences.length === n && (await record(b))?.takenAt !== undefined, `a snapshot of ${n} presences`);
  return (await record(b))!;
};

describe("presence snapshots of a running broker", () => {
  test("written when the presences change, not for messages or a member's one-shot command; otherwise only a note that the last is still true", async () => {
    await using b = await startBroker({ presenceGrace: GRACE });
    await Bun.sleep(2_000);
    // Nobody there: nothing written.
    expect({ record: await b.ctx.store.getMeta(CARRIED_KEY), seen: await b.ctx.store.getMeta(SEEN_KEY) }).toEqual({ record: null, seen: null });

    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    const first = await snapshotOf(b, 2);
    const version = b.ctx.hub.version;
    for (let i = 0; i < 50; i++) await sendText(a, bob.keys.publicKey, `m${i}`);
    await bb.waitMessages(50);
    // A `claudemesh` command of the member, beside its long-lived connection, shows nothing new.
    const once = await connect(b.url, owner, { cwd: "/elsewhere" }, { reconnect: false });
    once.close();
    await until(() => b.ctx.hub.get(owner.meshId, owner.keys.publicKey)!.conns.size === 1, "the command's connection closed");
    await Bun.sleep(2_000); // two intervals
    const seen = JSON.parse((await b.ctx.store.getMeta(SEEN_KEY))!) as { of: number; at: number };
    expect({ version: b.ctx.hub.version, takenAt: (await record(b))!.takenAt, seenOf: seen.of, seenLater: seen.at > first.takenAt! + 1_000 }).toEqual({ version, takenAt: first.takenAt, seenOf: first.takenAt!, seenLater: true });

    await bb.client.request("set_status", { status: "working" });
    await until(async () => (await record(b))!.presences.some((p) => p.identity.pubkey === bob.keys.publicKey && p.status === "working"), "the status in a new snapshot");
    expect((await record(b))!.presences.map((p) => p.identity.attestation)).toEqual([undefined, undefined]);
    a.close();
    bb.close();
  }, 30_000);

  test("a clean stop's record replaces the snapshot", async () => {
    const b = await startBroker({ presenceGrace: GRACE });
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner, {}, { reconnect: false });
    await snapshotOf(b, 1);
    const dataDir = b.dataDir;
    await b.stop();
    a.close();
    const again = await startBroker({ presenceGrace: GRACE, port: b.port }, { dataDir, keepData: true });
    // Read before the start consumed it: the carry logged the clean stop's kind.
    expect({ carried: again.ctx.hub.size, clean: again.logs.some((l) => l.includes("carried over from the previous stop")) }).toEqual({ carried: 1, clean: true });
    await again.stop();
  }, 30_000);

  test("after an unclean stop a presence's grace counts from when the snapshot was last known true", async () => {
    const b = await startBroker({ presenceGrace: GRACE });
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner, {}, { reconnect: false });
    const snap = await snapshotOf(b, 1);
    const dataDir = b.dataDir;
    await b.stop();
    a.close();
    // As a kill would have left it: the snapshot, and maybe a later note that it still held.
    const startWith = async (takenAt: number, seenAt: number | null) => {
      const s = await openSqliteStore({ dataDir, synchronous: "normal" });
      await s.setMeta(CARRIED_KEY, JSON.stringify({ ...snap, takenAt }));
      await s.setMeta(SEEN_KEY, seenAt === null ? "" : JSON.stringify({ of: takenAt, at: seenAt }));
      s.close();
      return startBroker({ presenceGrace: GRACE, port: b.port }, { dataDir, keepData: true });
    };
    const stayed = async (x: TestBroker, ms: number) => {
      const start = performance.now();
      await until(() => x.ctx.hub.size === 0, "the carried presence gone", GRACE + 2_000);
      await x.stop();
      return performance.now() - start < ms;
    };

    // Taken 4 s ago, no later note: 1 s of its grace is left.
    const old = await startWith(Date.now() - 4_000, null);
    expect({ carried: old.ctx.hub.size, goneWithin2s: await stayed(old, 2_000) }).toEqual({ carried: 1, goneWithin2s: true });
    // Taken 4 s ago but known true until now: the whole grace.
    const noted = await startWith(Date.now() - 4_000, Date.now());
    expect({ carried: noted.ctx.hub.size, goneWithin2s: await stayed(noted, 2_000) }).toEqual({ carried: 1, goneWithin2s: false });
    // A note of another snapshot says nothing of this one.
    const other = await startWith(Date.now() - 6_000, null);
    await other.ctx.store.setMeta(SEEN_KEY, JSON.stringify({ of: 1, at: Date.now() }));
    expect({ carried: other.ctx.hub.size, consumed: await other.ctx.store.getMeta(CARRIED_KEY) }).toEqual({ carried: 0, consumed: "" });
    await other.stop();
  }, 60_000);

  // These two run their own snapshots on a broker without grace, which takes none of its own.
  const sizeOf = (b: TestBroker, pubkey: string) => {
    const p = [...b.ctx.hub.all()].find((x) => x.identity.pubkey === pubkey)!;
    return Buffer.byteLength(carriedText(p, p.leftAt)) + 1;
  };

  test("a snapshot holds at most its byte limit: presences past it are left out, and that is logged once", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const peers = await Promise.all([owner, bob, carol].map((m) => connect(b.url, m)));
    const small = new PresenceSnapshots(b.ctx, { maxBytes: sizeOf(b, owner.keys.publicKey) + 10, bytesPerSec: 1_000_000 });
    await small.tick();
    const kept = (await record(b))!.presences.map((p) => p.identity.pubkey);
    await peers[1]!.client.request("set_status", { status: "working" });
    await small.tick(); // a second snapshot, as full: not logged again
    const full = b.logs.filter((l) => l.includes("presence snapshot full"));
    expect({ kept, logged: full.length, leftOut: JSON.parse(full[0]!).leftOut }).toEqual({ kept: [owner.keys.publicKey], logged: 1, leftOut: 2 });
    await small.stop();
    for (const p of peers) p.close();
  }, 30_000);

  test("records come no faster than their byte rate allows: a change right after a record waits for it", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    const paced = new PresenceSnapshots(b.ctx, { maxBytes: 1_000_000, bytesPerSec: sizeOf(b, owner.keys.publicKey) }); // one record a second
    await paced.tick();
    const first = (await record(b))!.takenAt!;
    await a.client.request("set_status", { status: "working" });
    await paced.tick();
    const held = (await record(b))!.takenAt;
    await Bun.sleep(1_100 - (Date.now() - first));
    await paced.tick();
    const after = (await record(b))!;
    expect({ held: held === first, written: after.takenAt! >= first + 1_000, status: after.presences[0]!.status }).toEqual({ held: true, written: true, status: "working" });
    await paced.stop();
    a.close();
  }, 30_000);

  test("the pause between records runs on the monotonic clock: a wall clock set back, or a step ahead set right, does not stop them for the length of the step", async () => {
    using clock = steppableWallClock();
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    const snaps = new PresenceSnapshots(b.ctx, { maxBytes: 1_000_000, bytesPerSec: 1_000_000 }); // a pause of about 1 ms
    const statusAfter = async (status: "working" | "idle" | "dnd", stepMs: number) => {
      clock.step(stepMs);
      await a.client.request("set_status", { status });
      await Bun.sleep(20);
      await snaps.tick();
      return (await record(b))!.presences[0]!.status;
    };
    await snaps.tick();
    // Set back an hour (NTP correcting a fast clock): the record taken before is an hour ahead.
    const back = await statusAfter("working", -3_600_000);
    // A step an hour ahead, a record taken then, and the step set right.
    await statusAfter("dnd", 3_600_000);
    const setRight = await statusAfter("idle", -3_600_000);
    expect({ back, setRight }).toEqual({ back: "working", setRight: "idle" });
    await snaps.stop();
    a.close();
  }, 30_000);
});
