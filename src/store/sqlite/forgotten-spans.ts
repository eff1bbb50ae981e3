// What the replay table has forgotten (protocol.md §2.5, §8.3): the spans of expiry times of the
// signatures the sweep deleted. A signature's expiry is fixed by what it signs (its timestamp +
// 61 s; a dashboard link's expiresAt + 1 s), so a replayed signature has its deleted row's expiry,
// and a signature whose expiry lies outside every span was never deleted: it is either remembered
// or new, whatever the wall clock did meanwhile.

/** Expiry times, ms since the epoch, both ends included. */
export type Span = readonly [from: number, to: number];

/** Spans kept at most; past it the two closest merge (covering more is always the safe side). */
export const MAX_SPANS = 16;

/** Whether `expiresAt` falls within one of `spans`. */
export const covers = (spans: readonly Span[], expiresAt: number): boolean => spans.some(([from, to]) => from <= expiresAt && expiresAt <= to);

/** `spans` (sorted, disjoint) with `added` deleted by a sweep at `nowMs`. Every span that begins
 *  at or before `nowMs` becomes one: the times between them are behind the clock that swept, where
 *  a timestamp fails the skew check anyway, and refusing them after a step back is the safe side.
 *  A span ahead of `nowMs` (swept while the clock read later, then set back) stays apart, so that
 *  the times between it and the clock, which an honest client signs, are not refused. */
export function addSpan(spans: readonly Span[], added: Span, nowMs: number): Span[] {
  const out: Span[] = [];
  for (const s of [...spans, added].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && (s[0] <= last[1] || s[0] <= nowMs)) out[out.length - 1] = [last[0], Math.max(last[1], s[1])];
    else out.push(s);
  }
  while (out.length > MAX_SPANS) {
    let i = 0;
    for (let j = 1; j < out.length - 1; j++) if (out[j + 1]![0] - out[j]![1] < out[i + 1]![0] - out[i]![1]) i = j;
    out.splice(i, 2, [out[i]![0], out[i + 1]![1]]);
  }
  return out;
}

/** Spans as broker_meta keeps them (JSON `[[from, to], …]`); null reads as none. Throws on
 *  anything else: a damaged value must not silently reopen what it closed. */
export function parseSpans(text: string | null): Span[] {
  if (text === null) return [];
  const value: unknown = JSON.parse(text);
  const ok = Array.isArray(value) && value.every((s) => Array.isArray(s) && s.length === 2 && s.every(Number.isSafeInteger) && s[0] <= s[1]);
  if (!ok) throw new Error(`broker_meta's forgotten_signatures is not a list of [from, to] times: ${text.slice(0, 100)}`);
  return value as Span[];
}
