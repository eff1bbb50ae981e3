// The replay table, seen_signatures (protocol.md §2.5): every accepted signature, kept until an
// expiry fixed by what it signs, then swept. What the sweep deleted is remembered as spans of
// expiry times (forgotten-spans.ts), in broker_meta, written in the sweep's own transaction: after
// the wall clock is set back, or the broker restarts, a signature is found in the table or its
// expiry in a span, never neither (protocol.md §8.3). A restore carries both into the database it
// installs (replay-file.ts); one that could not read them sets a floor instead: every signature
// the broker may have accepted before it is refused (protocol.md §2.5).
import type { Database } from "bun:sqlite";
import type { SignatureUse } from "../types.ts";
import { addSpan, covers, parseSpans, type Span } from "./forgotten-spans.ts";
import type { Staged } from "./transaction.ts";

/** The broker_meta key of the spans. */
export const FORGOTTEN_KEY = "forgotten_signatures";

/** The broker_meta key of the floor: ms since the epoch, the time of a restore that could not read
 *  the replay memory of the database it replaced; what the broker may have accepted before it is
 *  unknown. */
export const FORGOTTEN_BEFORE_KEY = "signatures_forgotten_before";

/** The floor as broker_meta keeps it (a decimal integer); null reads as none. Throws on anything
 *  else: a damaged value must not silently reopen what it closed. */
export function parseFloor(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new Error(`broker_meta's ${FORGOTTEN_BEFORE_KEY} is not a time in ms: ${text.slice(0, 100)}`);
  return n;
}

export class SignatureRepo {
  private spans: Span[];
  private readonly floor: number | null;

  constructor(private readonly db: Database) {
    const meta = (key: string) => db.query<{ value: string }, [string]>("SELECT value FROM broker_meta WHERE key = ?").get(key)?.value ?? null;
    this.spans = parseSpans(meta(FORGOTTEN_KEY));
    this.floor = parseFloor(meta(FORGOTTEN_BEFORE_KEY));
  }

  /** Records `signature` until `expiresAt` (ms): "recorded"; "replayed" if it is recorded already;
   *  "before_restore" (nothing recorded) if the broker could have accepted it (at `acceptableFrom`
   *  or later) before a restore that could not read what the replaced database remembered;
   *  "forgotten" (nothing recorded) if a sweep may have deleted it: its expiry is within what the
   *  sweeps deleted. One comparison per span (at most MAX_SPANS), then one insert. */
  remember(signature: string, expiresAt: number, acceptableFrom: number): SignatureUse {
    if (this.floor !== null && acceptableFrom < this.floor) return "before_restore";
    if (covers(this.spans, expiresAt)) return "forgotten";
    return this.db.query("INSERT OR IGNORE INTO seen_signatures (signature, expires_at) VALUES (?, ?)").run(signature, expiresAt).changes === 1 ? "recorded" : "replayed";
  }

  /** In the caller's transaction: deletes at most `limit` signatures expired at `nowMs` and stores
   *  the span of their expiries; `out` is how many. apply() once committed (a rolled-back sweep
   *  deleted nothing, and its span is not taken). */
  stageSweep(nowMs: number, limit: number): Staged<number> {
    const gone = this.db
      .query<{ expires_at: number }, [number, number]>("DELETE FROM seen_signatures WHERE signature IN (SELECT signature FROM seen_signatures WHERE expires_at <= ? LIMIT ?) RETURNING expires_at")
      .all(nowMs, limit);
    if (gone.length === 0) return { out: 0, apply() {} };
    let from = Infinity;
    let to = -Infinity;
    for (const { expires_at } of gone) {
      from = Math.min(from, expires_at);
      to = Math.max(to, expires_at);
    }
    const spans = addSpan(this.spans, [from, to], nowMs);
    this.db.query("INSERT INTO broker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(FORGOTTEN_KEY, JSON.stringify(spans));
    return { out: gone.length, apply: () => (this.spans = spans) };
  }
}
