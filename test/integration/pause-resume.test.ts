// Reliability plan T4, pause and resume: the broker runs as a real process and is frozen with
// SIGSTOP for longer than its clients' request timeout and its own ping interval, then thawed
// with SIGCONT, several times, while real clients (src/client, with their liveness watch and
// reconnect backoff) send DMs with client message ids and ack what they receive. Must hold: the
// T1 invariants (test/helpers/chaos.ts checkHistory); and once thawed for good, no socket of
// before a pause is left counted (the gauge, the broker's presences), list_peers shows each peer
// once, and the queue is empty.
// CI: 3 pauses of about a second. CHAOS_LONG=1: CHAOS_CYCLES (default 100) pauses of 5–40 s.
// FUZZ_SEED replays a schedule; CHAOS_HISTORY=<file> writes the history as JSONL.
import { expect, test } from "bun:test";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";
import { chaosRandom, checkHistory, listedPeers, sendersAckedSince, settled, startRing } from "../helpers/chaos.ts";

const LONG = process.env.CHAOS_LONG === "1";
const CYCLES = LONG ? Number(process.env.CHAOS_CYCLES ?? 100) : 3;
/** Longest a client takes to be back after a pause: its backoff grows while the broker is frozen
 *  (up to 30 s between attempts after a long pause). */
const BACK_MS = LONG ? 60_000 : 15_000;

test(`the broker paused ${CYCLES} times loses, invents and reorders nothing, and ends with no stale socket or presence`, async () => {
  const random = chaosRandom("pause-resume");
  await using broker = await spawnBroker(tempDir(), ["--ping-interval", "200ms", "--presence-grace", "300ms", "--hello-timeout", "2s", "--synchronous", "normal", "--send-rate", "100000", "--send-burst", "100000"]);
  await until(() => /cmo_[\w-]+/.test(broker.stderr()), "serve to print the operator token");
  const operatorToken = /cmo_[\w-]+/.exec(broker.stderr())![0];
  const ring = await startRing(broker.url);

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // Traffic flows before each pause (every sender has had a message acked since the last
    // thaw), and the pause comes at a random moment of it.
    const since = performance.now();
    await until(() => sendersAckedSince(ring.h, since) === ring.actors.length, "every sender to make progress", BACK_MS);
    await Bun.sleep(random() * 300);
    broker.proc.kill("SIGSTOP");
    ring.h.note("stop");
    await Bun.sleep(LONG ? 5_000 + random() * 35_000 : 700 + random() * 300); // the fault itself: frozen this long
    broker.proc.kill("SIGCONT");
    ring.h.note("cont");
  }
  await ring.finish(BACK_MS);

  expect(checkHistory(ring.h)).toEqual([]);
  // The pauses were long enough for every client to give up on its link and reconnect.
  expect(ring.actors.map((a) => a.drops >= CYCLES)).toEqual(ring.actors.map(() => true));
  await settled(broker.url, operatorToken, ring.actors.length);
  expect(await listedPeers(ring.actors[0]!.peer.client)).toEqual(ring.peersAtRest());
  for (const a of ring.actors) a.peer.close();
}, LONG ? 24 * 3600_000 : 60_000);
