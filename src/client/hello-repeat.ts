// A hello after a `replayed` refusal. Two processes of one member key saying hello in the same
// millisecond sign the same text: what a hello signs is the mesh, the member, the key and the
// timestamp (docs/protocol.md §2.3), nothing a process could make its own, and Ed25519 is
// deterministic. The broker takes the first and refuses the others as `replayed` (§2.5), and a
// refused first connect says its hello again (client.ts). With three processes or more, those
// repeats were alike too: each took its last timestamp plus 1 ms, or the clock a moment later,
// which reads the same for processes refused together; and they collided again. Waiting a random
// moment first would help only as far as the clocks read apart after it. So the repeat signs a
// timestamp set ahead of the clock by a random amount under a second: distinct across processes
// whatever their clocks read (two pick the same with chance 1 in SPREAD_MS), and a few repeats
// make a process that is refused every time vanishingly rare. Far within the broker's ±60 s.
import { freshTimestamp } from "./credentials.ts";

/** How many times a first connect says its hello again after `replayed` before it fails with it. */
export const REPLAYED_REPEATS = 3;

/** A repeated hello's timestamp is 1 to SPREAD_MS - 1 ms ahead of the clock. */
export const SPREAD_MS = 1000;

/** One client's repeats: how many its first connect made, and whether its next hello follows a
 *  `replayed` refusal. */
export class HelloRepeats {
  private repeats = 0;
  private spread = false;

  constructor(private readonly random: () => number = Math.random) {}

  /** Notes a close for `reason` (the broker's refusal code, or a socket's words); true when it is
   *  `replayed`, the connect is a first one (`first`), and it may say its hello again at once. */
  refused(reason: string, first: boolean): boolean {
    if (reason !== "replayed") return false;
    this.spread = true; // a reconnect's hello too, after its backoff
    if (!first || this.repeats >= REPLAYED_REPEATS) return false;
    this.repeats++;
    return true;
  }

  /** The timestamp for the next hello of key `pubkey`: after a `replayed` refusal, a fresh one a
   *  random 1 to SPREAD_MS - 1 ms ahead of the clock; else undefined (buildHello makes its own). */
  timestamp(pubkey: string): number | undefined {
    if (!this.spread) return undefined;
    this.spread = false;
    return freshTimestamp(pubkey, Date.now() + 1 + Math.floor(this.random() * (SPREAD_MS - 1)));
  }
}
