// Replay detection for one mesh: remembers the (sender key, client message id) pairs already
// accepted. A sealed message opens forever (no ratchet), so a broker or anyone holding an old
// ciphertext could push it again; recipients drop a pair they have seen (reliability.md T17).
// Bounded: past `maxEntries` the oldest pairs are forgotten, so a replay older than that many newer
// messages is not caught here — callers can add a `ts` window for those.
import { ID_RE, PUBKEY_RE } from "./fields.ts";

/** Default pairs remembered per mesh (~90 bytes each when persisted: about 1.8 MB). */
export const REPLAY_GUARD_ENTRIES = 20_000;
const FORMAT_VERSION = 1;

export type ReplayGuardOptions = { maxEntries?: number };

export class ReplayGuard {
  readonly meshId: string;
  readonly #max: number;
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #seen = new Set<string>();

  constructor(meshId: string, options: ReplayGuardOptions = {}) {
    if (!ID_RE.test(meshId)) throw new TypeError("invalid mesh id");
    const max = options.maxEntries ?? REPLAY_GUARD_ENTRIES;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("maxEntries must be a positive integer");
    this.meshId = meshId;
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True the first time a (sender, id) pair is seen, and records it; false for a repeat, which the
   *  caller drops silently. Also false for a malformed sender or id. Call only after openEnvelope
   *  succeeded, so that unauthenticated input cannot fill the set. */
  check(sender: string, id: string): boolean {
    if (!PUBKEY_RE.test(sender) || !ID_RE.test(id)) return false;
    const pair = `${sender}|${id}`;
    if (this.#seen.has(pair)) return false;
    this.#seen.add(pair);
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }

  /** Records every pair `other` holds (of the same mesh), oldest first, as if checked here. */
  absorb(other: ReplayGuard): void {
    if (other.meshId !== this.meshId) throw new TypeError("replay guard of another mesh");
    for (const pair of other.#seen) {
      this.#seen.delete(pair);
      this.#seen.add(pair);
      if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value!);
    }
  }

  /** True if the pair was seen, without recording it. */
  has(sender: string, id: string): boolean {
    return this.#seen.has(`${sender}|${id}`);
  }

  /** `{"v":1,"mesh":<meshId>,"seen":[[sender,id],…]}`, oldest first, for the CLI to persist, with
   *  `extra` keys beside them (importJson ignores those). */
  exportJson(extra: Record<string, unknown> = {}): string {
    const seen = [...this.#seen].map((p) => p.split("|"));
    return JSON.stringify({ ...extra, v: FORMAT_VERSION, mesh: this.meshId, seen });
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
    return guard;
  }
}
