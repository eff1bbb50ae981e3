// `bun run chaos -- --cycles 50 --seed N [--history FILE] [--keep] [--power-loss] [--drain-ms MS]`
// (`--check FILE` re-judges a history): the kill -9 chaos run, each kill also a power cut with
// --power-loss (power-loss.ts). A real
// broker (`claudemesh serve` from source, on a temp data dir and a port chosen here so that the
// clients reconnect to the same address) carries DM, broadcast and #general traffic with batched
// acks, invite claims, a kick and a leave (chaos-traffic.ts), between member keys and session
// keys (bob's session sends and receives, dave's receives), with priorities, `@crew` posts, frank's
// status gate (chaos-gating.ts), carol's blocks of alice's DMs, broadcasts, topic and @crew posts
// and alice's of bob's session key but not his member key (chaos-grants.ts), bob leaving and
// rejoining @crew (chaos-groups.ts) and a small queue quota; it is
// SIGKILLed at a seeded random
// moment and restarted on the same data dir, `--cycles` times. Then the traffic stops, what was
// acked is given time to arrive, #general's history is read, the broker stops with SIGTERM and
// `serve --check` verifies the database and every audit chain. chaos-check.ts judges the history.
// The last stdout line is the summary; exit 0 when no violation, 1 with each violation on stderr.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createMesh } from "../src/client/http.ts";
import { generateSigningKeypair } from "../src/crypto/sign.ts";
import { randomId } from "../src/crypto/hash.ts";
import { checkHistory, parseHistory, type Step } from "./chaos-check.ts";
import { exercised } from "./chaos-exercised.ts";
import { statusLoop } from "./chaos-gating.ts";
import { blockLoop } from "./chaos-grants.ts";
import { crewLoop, joinCrew } from "./chaos-groups.ts";
import { PowerLoss } from "./power-loss.ts";
import { BROKER_LISTENING, startServer } from "./servers.ts";
import { connectPeer, inviteAndClaim, Recorder, Roster, sendLoop, untilDone, type Member, type Peer } from "./chaos-traffic.ts";
import { seeded } from "./seeded.ts";

const MAIN = resolve(import.meta.dir, "../src/main.ts");
/** Traffic between a restart and the next kill: long enough for the clients to come back (their
 *  first reconnect waits 0.5–1 s) and send, short enough for many cycles. */
const WINDOW_MS = { min: 300, max: 2_500 };
/** After the last restart: how long what was acked may take to arrive before it counts as lost.
 *  Above the client's reconnect backoff cap (30 s): a client whose attempts met several restarts
 *  in a row waits that long before its next one. */
const DRAIN_MS = 40_000;
/** Every mailbox's queue quota: above what a reading recipient holds after a restart (a few
 *  hundred), below what frank's gate holds during a dnd, so that his queue fills (§5.11). */
const QUEUE_QUOTA = 300;

const { values: args } = parseArgs({ options: { cycles: { type: "string", default: "10" }, seed: { type: "string" }, history: { type: "string" }, check: { type: "string" }, keep: { type: "boolean", default: false }, "power-loss": { type: "boolean", default: false }, "drain-ms": { type: "string" } } });
if (args.check !== undefined) {
  // `--check FILE`: judge a history saved with --history again, without running anything.
  const violations = checkHistory(parseHistory(readFileSync(args.check, "utf8")));
  for (const v of violations) console.error(`chaos: VIOLATION ${v}`);
  console.log(`chaos ${violations.length === 0 ? "PASS" : "FAIL"} ${JSON.stringify({ ok: violations.length === 0, violations: violations.length })}`);
  process.exit(violations.length === 0 ? 0 : 1);
}
const cycles = Number(args.cycles);
const seed = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(seed)) {
  console.error("chaos: --cycles must be a whole number ≥ 1 and --seed a whole number, e.g. --cycles 50 --seed 7");
  process.exit(2);
}
const drainMs = args["drain-ms"] !== undefined ? Number(args["drain-ms"]) : DRAIN_MS;
if (!Number.isInteger(drainMs) || drainMs < 0) {
  console.error("chaos: --drain-ms must be a whole number of milliseconds ≥ 0, e.g. --drain-ms 5000");
  process.exit(2);
}
console.error(`chaos: --cycles ${cycles} --seed ${seed}`);
const random = seeded(seed);
const rec = new Recorder(args.history);
const dataDir = mkdtempSync(join(tmpdir(), "claudemesh-chaos-"));
const powerLoss = args["power-loss"] ? new PowerLoss(dataDir, mkdtempSync(join(tmpdir(), "claudemesh-chaos-power-"))) : null;

/** A free loopback port, kept for every start of the broker. */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}
const port = freePort();
const url = `http://127.0.0.1:${port}`;

/** Starts serve on this run's port and data dir and resolves once it listens; rejects with its
 *  stderr if it exits first (its start checks refused the data dir) or does not listen in 30 s. */
let stopping = false;
const start = async () => {
  powerLoss?.settled();
  const argv = [process.execPath, "run", MAIN, "serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--send-burst", "100000", "--send-rate", "100000", "--queue-quota", String(QUEUE_QUOTA)];
  const s = await startServer("broker", argv, null, BROKER_LISTENING, 30_000, powerLoss?.env());
  stopping = false;
  // A broker that dies unasked fails the run at once: the clients would wait for it forever.
  void s.exited.then((code) => {
    if (stopping) return;
    console.error(`chaos: VIOLATION the broker exited on its own (code ${code}): ${s.stderrTail().trim().split("\n").slice(-4).join(" | ")}`);
    console.log(`chaos FAIL ${JSON.stringify({ ok: false, seed, violations: 1 })}`);
    process.exit(1);
  });
  return s;
};
/** Stops the broker on purpose. */
const stop = (signal: "SIGKILL" | "SIGTERM") => ((stopping = true), serve.signal(signal));

let serve = await start();
const roster = new Roster();
const ownerKeys = generateSigningKeypair();
const created = await createMesh(url, ownerKeys, { meshId: randomId(), slug: `chaos-${seed}`, name: "Chaos", ownerDisplayName: "alice" });
const alice = await connectPeer(url, { name: "alice", meshId: created.mesh.id, memberId: created.member.memberId, keys: ownerKeys }, rec);
roster.add(alice);
const peers: Peer[] = [alice];
for (const name of ["bob", "carol", "dave", "erin", "frank"]) {
  const m = await inviteAndClaim(url, alice, name);
  roster.add(m);
  peers.push(await connectPeer(url, m, rec));
}
const [bob, carol, dave, erin, frank] = peers.slice(1) as [Peer, Peer, Peer, Peer, Peer];
// Session keys, as Claude Code sessions connect: bob's sends and receives, dave's only receives
// (and goes with dave's leave). Each connects before any send, so it is a live session then (§5.1).
const sessions: Peer[] = [];
for (const m of [bob, dave]) {
  const keys = generateSigningKeypair();
  roster.addSession(m, keys.publicKey);
  rec.record({ kind: "session", member: m.keys.publicKey, mailbox: keys.publicKey });
  sessions.push(await connectPeer(url, m, rec, keys));
}
peers.push(...sessions);
const bobSession = sessions[0]!;
await joinCrew([bob, carol, dave, frank], roster, rec); // frank only receives, gated (chaos-gating.ts)

let running = true;
const senders = [alice, bob, carol, bobSession];
const loops = senders.map((p, i) => sendLoop(p, roster, rec, seeded(seed + i + 1), () => running));
const ops: Promise<unknown>[] = [];
const problems: string[] = [];
const op = (what: string, p: Promise<unknown>) => ops.push(p.catch((err) => problems.push(`${what}: ${err}`)));
op("frank's status", statusLoop(frank, rec, seeded(seed - 1), () => running));
op("carol blocks alice", blockLoop(carol, alice.keys.publicKey, roster, rec, seeded(seed - 2), () => running));
op("alice blocks bob's session", blockLoop(alice, bobSession.keys.publicKey, roster, rec, seeded(seed - 3), () => running));
op("bob leaves and rejoins @crew", crewLoop(bob, roster, rec, seeded(seed - 4), () => running));
const kickAt = Math.max(1, Math.floor(cycles / 3));
const leaveAt = Math.max(1, Math.floor((2 * cycles) / 3));
let joiners = 0;
let joined = 0;

const t0 = performance.now();
let kills = 0;
for (let cycle = 1; cycle <= cycles; cycle++) {
  const windowMs = WINDOW_MS.min + random() * (WINDOW_MS.max - WINDOW_MS.min);
  const opAtMs = random() * windowMs;
  const claim = random() < 0.5;
  setTimeout(() => {
    if (claim) {
      const name = `joiner${++joiners}`;
      // An invite or claim whose answer was lost in a kill leaves a member nobody is owed to.
      op(`claim ${name}`, inviteAndClaim(url, alice, name).then(async (m) => (roster.add(m), joined++, peers.push(await connectPeer(url, m, rec))), () => rec.note("claim-unknown", { name })));
    }
    if (cycle === kickAt) {
      roster.remove(erin, rec);
      op("kick erin", untilDone(() => alice.client.request("member_revoke", { memberId: erin.memberId, ban: false, reason: "chaos" }), (e) => (e as { code?: string }).code === "conflict"));
    }
    if (cycle === leaveAt) {
      roster.remove(dave, rec);
      op("dave leaves", untilDone(() => dave.client.request("leave", {}), (e) => ["revoked", "left"].includes((e as { code?: string }).code ?? "") || dave.client.state === "closed"));
    }
  }, opAtMs);
  await Bun.sleep(windowMs);
  await stop("SIGKILL");
  kills++;
  rec.note("kill", { cycle });
  if (powerLoss) {
    powerLoss.fail();
    rec.record({ kind: "power-loss", cycle });
  }
  try {
    serve = await start();
    rec.note("restart", { cycle });
  } catch (err) {
    rec.record({ kind: "start-failed", cycle, detail: String(err) });
    break;
  }
}

// Stop sending once every sender has had a result since the last restart; let everything arrive.
const failedStart = rec.steps.some((s) => s.kind === "start-failed");
const acksAfter = rec.steps.length;
const end = Date.now() + drainMs;
while (!failedStart && Date.now() < end && new Set(rec.steps.slice(acksAfter).filter((s) => s.kind === "server-ack").map((s) => (s as { cmid: string }).cmid.split("-")[0])).size < senders.length) await Bun.sleep(50);
running = false;
const sent = await Promise.all(loops.map((l) => l.catch((err) => (problems.push(`sender: ${err}`), 0))));
await Promise.all(ops);
// A whole check per look (hundreds of thousands of steps in a long run): once a second.
while (!failedStart && Date.now() < end && checkHistory(rec.steps).some((v) => v.startsWith("lost:"))) await Bun.sleep(1_000);
for (const p of peers) await Promise.all(p.pending);

if (!failedStart) {
  // #general's whole history, paged; the first page says whether early offsets were trimmed.
  let after = 0;
  const entries: { offset: number; messageId: string; cmid: string }[] = [];
  let first: { lastOffset: number; earliestOffset: number; historyLost: boolean } | undefined;
  for (;;) {
    const page = await untilDone(() => alice.client.request("topic_history", { topic: "general", afterOffset: after, limit: 500 }));
    first ??= page!;
    if (page!.historyLost && page!.messages.length === 0 && after < page!.earliestOffset - 1) after = page!.earliestOffset - 1;
    else if (page!.messages.length === 0) break;
    for (const m of page!.messages) entries.push({ offset: m.topicOffset!, messageId: m.messageId, cmid: m.clientMessageId });
    if (page!.messages.length > 0) after = entries.at(-1)!.offset;
  }
  rec.record({ kind: "topic-history", topic: "general", lastOffset: first!.lastOffset, earliestOffset: first!.historyLost ? first!.earliestOffset : entries[0]?.offset ?? first!.lastOffset + 1, historyLost: first!.historyLost, entries });
}
for (const p of peers) p.client.close();

// A clean stop, then the checks `serve` runs at start and more: quick_check, every audit chain.
const stopCode = await stop("SIGTERM");
if (!failedStart && stopCode !== 0) problems.push(`the broker exited ${stopCode} on SIGTERM`);
const check = Bun.spawnSync([process.execPath, "run", MAIN, "serve", "--check", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], { stderr: "pipe", stdout: "pipe" });
if (check.exitCode !== 0) rec.record({ kind: "start-failed", cycle: -1, detail: `exit ${check.exitCode}: ${check.stderr.toString().trim().split("\n").slice(-3).join(" | ")}` });

const violations = [...checkHistory(rec.steps), ...problems.map((p) => `harness: ${p}`)];
for (const v of violations) console.error(`chaos: VIOLATION ${v}`);
const count = (k: string) => rec.steps.filter((s) => s.kind === k).length;
const sessionKeys = new Set(sessions.map((p) => p.keys.publicKey));
const toSession = (s: Step) => (s.kind === "deliver" || s.kind === "recipient-ack") && sessionKeys.has(s.to);
const summary = { ok: violations.length === 0, seed, kills, sends: sent.reduce((a, b) => a + b, 0), acked: count("server-ack"), deliveries: count("deliver"), confirmedAcks: count("recipient-ack"),
  sessionSends: sent[senders.indexOf(bobSession)] ?? 0, sessionDeliveries: rec.steps.filter((s) => s.kind === "deliver" && toSession(s)).length, sessionConfirmedAcks: rec.steps.filter((s) => s.kind === "recipient-ack" && toSession(s)).length,
  sessionDms: rec.steps.filter((s) => s.kind === "send" && s.target === "dm" && s.to.length === 1 && sessionKeys.has(s.to[0]!)).length, joiners: joined, ...exercised(rec.steps), topicOffsets: (rec.steps.find((s) => s.kind === "topic-history") as { lastOffset?: number } | undefined)?.lastOffset ?? 0, violations: violations.length, seconds: Math.round((performance.now() - t0) / 1000) };
if (args.keep) console.error(`chaos: data dir kept at ${dataDir}`);
else rmSync(dataDir, { recursive: true, force: true });
console.log(`chaos ${summary.ok ? "PASS" : "FAIL"} ${JSON.stringify(summary)}`);
process.exit(summary.ok ? 0 : 1);
