// Replay detection for one mesh: remembers the (sender key, client message id) pairs already
// accepted. A sealed message opens forever (no ratchet), so a broker or anyone holding an old
// ciphertext could push it again; recipients drop a pair they have seen (reliability.md T17).
// Bounded: past `maxEntries` the oldest pairs are forgotten, so a replay older than that many newer
// messages is not caught here — callers can add a `ts` window for those. A guard may start with
// pairs read elsewhere (seed: what others read on this machine) beneath its own: they are refused
// like its own, forgotten first, and never exported, so a reader's file holds what it read itself.
import { ID_RE, PUBKEY_RE } from "./fields.ts";

/** Default pairs remembered per mesh (~90 bytes each when persisted: about 1.8 MB). */
export const REPLAY_GUARD_ENTRIES = 20_000;
const FORMAT_VERSION = 1;

export type ReplayGuardOptions = { maxEntries?: number };

export class ReplayGuard {
  readonly meshId: string;
  readonly #max: number;
  /** Pairs read elsewhere (seed), all older than the guard's own. Insertion order is age order. */
  readonly #base = new Set<string>();
  /** The guard's own pairs. Insertion order is age order: the first entry is the oldest. */
  readonly #seen = new Set<string>();
  /** Own pairs recorded since the last markShared, oldest first; #fresh[0] is the #freshFrom-th
   *  pair ever recorded. */
  #fresh: string[] = [];
  #freshFrom = 0;

  constructor(meshId: string, options: ReplayGuardOptions = {}) {
    if (!ID_RE.test(meshId)) throw new TypeError("invalid mesh id");
    const max = options.maxEntries ?? REPLAY_GUARD_ENTRIES;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("maxEntries must be a positive integer");
    this.meshId = meshId;
    this.#max = max;
  }

  /** Pairs remembered: the seed's and the guard's own. */
  get size(): number {
    return this.#base.size + this.#seen.size;
  }

  /** True the first time a (sender, id) pair is seen, and records it; false for a repeat, which the
   *  caller drops silently. Also false for a malformed sender or id. Call only after openEnvelope
   *  succeeded, so that unauthenticated input cannot fill the set. */
  check(sender: string, id: string): boolean {
    if (!PUBKEY_RE.test(sender) || !ID_RE.test(id)) return false;
    const pair = `${sender}|${id}`;
    if (this.#base.has(pair) || this.#seen.has(pair)) return false;
    this.#seen.add(pair);
    this.#fresh.push(pair);
    // Trimmed in bulk: shifting one at a time would copy the array at every check.
    if (this.#fresh.length > 2 * this.#max) this.#dropFresh(this.#fresh.length - this.#max);
    this.#trim();
    return true;
  }

  /** Makes the `count` oldest pairs `other` holds (its seed's, then its own; all by default) this
   *  guard's seed, in place of any it had: refused by check, not exported, forgotten before the
   *  guard's own pairs when the guard is full. */
  seed(other: ReplayGuard, count = other.size): void {
    if (other.meshId !== this.meshId) throw new TypeError("replay guard of another mesh");
    this.#base.clear();
    let left = count;
    for (const set of [other.#base, other.#seen]) {
      for (const pair of set) {
        if (left-- <= 0) break;
        if (!this.#seen.has(pair)) this.#base.add(pair);
      }
    }
    this.#trim();
  }

  /** Forgets the oldest pairs past maxEntries, the seed's first. */
  #trim(): void {
    while (this.size > this.#max) {
      const from = this.#base.size > 0 ? this.#base : this.#seen;
      from.delete(from.values().next().value!);
    }
  }

  /** True if the pair was seen, without recording it. */
  has(sender: string, id: string): boolean {
    const pair = `${sender}|${id}`;
    return this.#base.has(pair) || this.#seen.has(pair);
  }

  /** The pairs this guard recorded (by check) since the last markShared, oldest first, at most
   *  maxEntries: what its reader read that the machine's memory may not know yet. `through`
   *  marks them for markShared. */
  unshared(): { pairs: [string, string][]; through: number } {
    const pairs = this.#fresh.slice(-this.#max).map((p) => p.split("|") as [string, string]);
    return { pairs, through: this.#freshFrom + this.#fresh.length };
  }

  /** True when pairs were recorded (by check) since the last markShared. */
  hasUnshared(): boolean {
    return this.#fresh.length > 0;
  }

  /** The pairs of an unshared() answer (`through`) were shared: not returned again. Those
   *  recorded since stay. */
  markShared(through: number): void {
    this.#dropFresh(through - this.#freshFrom);
  }

  #dropFresh(count: number): void {
    const n = Math.min(Math.max(count, 0), this.#fresh.length);
    this.#fresh = this.#fresh.slice(n);
    this.#freshFrom += n;
  }

  /** The guard's own pairs (never its seed), oldest first. */
  pairs(): [string, string][] {
    return [...this.#seen].map((p) => p.split("|") as [string, string]);
  }

  /** `{"v":1,"mesh":<meshId>,"seen":[[sender,id],…]}`: the guard's own pairs (never its seed),
   *  oldest first, for the CLI to persist, with `extra` keys beside them (importJson ignores
   *  those). */
  exportJson(extra: Record<string, unknown> = {}): string {
    return JSON.stringify({ ...extra, v: FORMAT_VERSION, mesh: this.meshId, seen: this.pairs() });
  }

  /** Rebuilds a guard from exportJson output, keeping the newest `maxEntries` pairs. Throws
   *  TypeError on anything malformed or for another mesh; the caller then starts an empty guard
   *  and warns that replays of older messages cannot be detected. */
  static importJson(text: string, meshId: string, options: ReplayGuardOptions = {}): ReplayGuard {
    const guard = new ReplayGuard(meshId, options);
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (cause) {
      throw new TypeError("replay guard state is not JSON", { cause });
    }
    const state = o as { v?: unknown; mesh?: unknown; seen?: unknown };
    if (typeof o !== "object" || o === null || state.v !== FORMAT_VERSION || !Array.isArray(state.seen)) throw new TypeError("replay guard state is malformed");
    if (state.mesh !== meshId) throw new TypeError("replay guard state belongs to another mesh");
    for (const entry of state.seen as unknown[]) {
      const ok = Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string" && typeof entry[1] === "string";
      if (!ok || !guard.check(entry[0], entry[1])) throw new TypeError("replay guard state has a malformed or repeated entry");
    }
    guard.#dropFresh(guard.#fresh.length); // read back, not read now
    return guard;
  }
}
