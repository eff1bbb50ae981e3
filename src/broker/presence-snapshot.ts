// Snapshots of the presences while the broker runs, so that a stop that wrote nothing down
// (kill -9, OOM, power loss) still lets the next start carry them over (presence-carry.ts).
// Guarantees, and what they cost:
// - at most one write per interval (snapshotIntervalMs: a sixth of the grace, 0.5–5 s), from a
//   timer, never on the message path: the record when the presences changed since the last one
//   (Hub.version), else a note of a few bytes that the last one is still true (none while there is
//   nothing to carry). Records come no faster than SNAPSHOT_BYTES_PER_SEC of them;
// - the record is built a slice of presences per turn of the event loop, and holds at most
//   SNAPSHOT_MAX_BYTES: presences past it are left out (logged once), so one write never holds the
//   event loop longer than writing that many bytes;
// - nothing is kept between snapshots but the version, time and size of the last: the memory is
//   the record's text while it is built and written (its parts, the whole, and SQLite's copy);
// - after stop() resolves, no snapshot is written (the clean stop's record is the last word).
import type { BrokerContext } from "./context.ts";
import { CARRIED_KEY, SEEN_KEY, carriedText, recordText } from "./presence-carry.ts";

/** Most bytes of presences in one snapshot: ~7,300 presences at their usual ~570 bytes, a write
 *  that holds the event loop ~3–5 ms (docs/decisions.md, Session 35). Bounds that stall and the
 *  memory a snapshot takes; a broker with more presences carries those that fit over a crash. */
export const SNAPSHOT_MAX_BYTES = 4 * 1024 * 1024;

/** Most bytes of records written per second, averaged from one record to the next: a broker with a
 *  big record and a short grace waits longer between records rather than write more. */
export const SNAPSHOT_BYTES_PER_SEC = 1024 * 1024;

/** Presences serialised per turn of the event loop (under a millisecond), so a big broker's
 *  snapshot is never one long stall that messages wait behind. */
const SLICE = 256;

/** How often a snapshot may be written: a sixth of the grace, between 0.5 and 5 s. After a crash a
 *  presence keeps at least the rest of its grace, less this, less the time the broker took to come
 *  back (its grace counts from when it was last known present). */
export function snapshotIntervalMs(graceMs: number): number {
  return Math.min(5_000, Math.max(500, Math.round(graceMs / 6)));
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class PresenceSnapshots {
  /** The hub's version the latest record was taken at, its time (wall clock, as written; and
   *  monotonic), whether it held anyone, and its size in bytes. */
  private last: { version: number; takenAt: number; mono: number; empty: boolean; bytes: number };
  private running: Promise<void> | null = null;
  private stopped = false;
  private warnedFull = false;

  /** `limits`: SNAPSHOT_MAX_BYTES and SNAPSHOT_BYTES_PER_SEC but in tests. */
  constructor(
    private readonly ctx: BrokerContext,
    private readonly limits = { maxBytes: SNAPSHOT_MAX_BYTES, bytesPerSec: SNAPSHOT_BYTES_PER_SEC },
  ) {
    // At the start the database holds no record (the carry consumed it) or an empty one, which is
    // a snapshot of an empty hub; presences carried in are written at the first tick.
    this.last = { version: ctx.hub.size === 0 ? ctx.hub.version : -1, takenAt: 0, mono: 0, empty: true, bytes: 0 };
  }

  /** One interval's write, if any. Never overlaps the previous one (a slow disk skips intervals).
   *  Rejects with the store's error; the next tick tries again. */
  tick(): Promise<void> {
    if (this.running || this.stopped) return Promise.resolve();
    const run = this.take().finally(() => (this.running = null));
    this.running = run;
    return run;
  }

  /** No snapshot is written once this resolves (a write under way has ended). Never rejects. */
  stop(): Promise<void> {
    this.stopped = true;
    return (this.running ?? Promise.resolve()).catch(() => {});
  }

  private async take(): Promise<void> {
    const { hub, store } = this.ctx;
    const version = hub.version;
    const now = Date.now();
    if (version === this.last.version) {
      if (!this.last.empty) await store.setMeta(SEEN_KEY, JSON.stringify({ of: this.last.takenAt, at: now }));
      return;
    }
    // The pause after a record runs on the monotonic clock: on the wall clock, one set back an hour
    // (or a step ahead set right) held every record back for the hour, and a crash then left the
    // next start a record that still showed whoever had left since.
    if (performance.now() < this.last.mono + (this.last.bytes / this.limits.bytesPerSec) * 1000) return;
    const presences: string[] = [];
    let bytes = 0;
    let leftOut = 0;
    let n = 0;
    for (const p of [...hub.all()]) {
      if (++n % SLICE === 0) await nextTurn();
      if (this.stopped) return;
      if (hub.get(p.identity.meshId, p.identity.pubkey) !== p) continue; // gone meanwhile
      const text = carriedText(p, p.leftAt);
      const size = Buffer.byteLength(text) + 1;
      if (bytes + size > this.limits.maxBytes) {
        leftOut++;
        continue;
      }
      presences.push(text);
      bytes += size;
    }
    if (leftOut > 0 && !this.warnedFull) {
      this.warnedFull = true;
      this.ctx.log.warn("presence snapshot full: after a crash, the presences left out are announced again when they come back", { leftOut, kept: presences.length, maxBytes: this.limits.maxBytes });
    }
    // Checked last before the write, which the store makes at once (no await in between).
    if (this.stopped) return;
    await store.setMeta(CARRIED_KEY, recordText({ takenAt: now }, presences));
    this.last = { version, takenAt: now, mono: performance.now(), empty: presences.length === 0, bytes };
  }
}
