// The soak's traffic (bench/soak.ts): an open-loop generator over a connected PeerSet, at a rate
// the caller sets and changes, mixing direct messages and topic posts. Every `topicEvery`-th send
// is a post to the topic from one of its members (round-robin), owed to every other member; the
// rest are DMs from every peer in turn to a pseudo-random other peer. Each send is entered in a
// DeliveryLedger and each push settles it there; the peers ack every push (PeerSet). Windows
// collect what happened while they were open: sends, pushes, send → push latencies, errors.
import { cid, sentAtMs, seqOf, TICK_MS } from "./load.ts";
import type { PeerSet } from "./peers.ts";
import { watchSelf } from "./proc.ts";
import { DeliveryLedger } from "./soak-ledger.ts";

/** A broker that falls behind gets at most this many seconds of the rate unsettled (sent, not
 *  yet acked and delivered to all); what the cap holds back is dropped from the schedule and
 *  counted, which lowers the offered rate (as load.ts's fixedRate does). */
const MAX_OUTSTANDING_S = 1;
/** A generator that fell behind catches up by at most this much of the rate per tick. */
const CATCH_UP_S = 0.05;

export type Mix = {
  /** Peers 0 … peers-1 are connected. */
  peers: number;
  /** The topic's name (without `#`) and its members, as peer indexes. */
  topic: string;
  topicMembers: readonly number[];
  /** Every topicEvery-th send is a topic post (5: 20 %). */
  topicEvery: number;
};

export type WindowStats = {
  seconds: number;
  targetPerS: number;
  sends: number;
  offeredPerS: number;
  /** Sends the outstanding cap dropped from the schedule. */
  heldBack: number;
  pushes: number;
  /** Deliveries the window's sends are owed (what `pushes` would be with no backlog). */
  owedPushes: number;
  /** Send → push, ms, of the pushes that arrived while the window was open. */
  latencies: Float64Array;
  errors: number;
  firstError: string;
  unexpectedCloses: number;
  /** This process's CPU % (100 = one core): near 100 means the generator, not the broker, limits. */
  clientCpuPct: number;
};

type Open = { t0: number; sends: number; heldBack: number; pushes: number; owed: number; lat: number[]; errors0: number; closes0: number; cpu: ReturnType<typeof watchSelf>; targetPerS: number };

export class MixedTraffic {
  readonly ledger = new DeliveryLedger();
  private ratePerS = 0;
  private since = 0;
  /** Sends scheduled since the rate was set: sent or held back. */
  private scheduled = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private count = 0;
  private dms = 0;
  private posts = 0;
  private win: Open | null = null;
  /** For each topic member (by position in topicMembers), the other members. */
  private readonly others: number[][];

  constructor(
    private readonly ps: PeerSet,
    private readonly mix: Mix,
  ) {
    this.others = mix.topicMembers.map((m) => mix.topicMembers.filter((x) => x !== m));
    ps.handlers = {
      onPush: (to, clientMessageId, at) => {
        this.ledger.pushed(to, seqOf(clientMessageId));
        if (this.win) {
          this.win.pushes++;
          this.win.lat.push(at - sentAtMs(clientMessageId));
        }
      },
      onReply: (_from, ok, _latencyMs, id) => this.ledger.answered(id ?? NaN, ok),
    };
  }

  /** Sends at `perS` from now on (0 stops sending; the ledger keeps settling). */
  setRate(perS: number): void {
    this.ratePerS = perS;
    this.since = performance.now();
    this.scheduled = 0;
    if (perS > 0 && !this.timer) this.timer = setInterval(() => this.tick(), TICK_MS);
    if (perS === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const rate = this.ratePerS;
    let due = Math.floor(((performance.now() - this.since) / 1000) * rate) - this.scheduled;
    const room = Math.ceil(rate * MAX_OUTSTANDING_S) - this.ledger.open;
    if (due > room) {
      const held = due - Math.max(0, room);
      this.scheduled += held;
      if (this.win) this.win.heldBack += held;
      due = Math.max(0, room);
    }
    due = Math.min(due, Math.ceil(rate * CATCH_UP_S));
    for (let k = 0; k < due; k++) this.sendOne();
    this.scheduled += due;
  }

  private sendOne(): void {
    const { peers, topic, topicMembers, topicEvery } = this.mix;
    let from: number;
    let recipients: readonly number[];
    let id: number;
    let c: string;
    if (++this.count % topicEvery === 0) {
      const k = this.posts++ % topicMembers.length;
      from = topicMembers[k]!;
      recipients = this.others[k]!;
      c = cid(from);
      id = this.ps.send(from, `#${topic}`, c);
    } else {
      from = this.dms++ % peers;
      // A pseudo-random other peer: from + 1 … from + peers - 1, mod peers.
      const to = (from + 1 + ((Math.imul(this.dms, 2654435761) >>> 0) % (peers - 1))) % peers;
      recipients = [to];
      c = cid(from);
      id = this.ps.send(from, to, c);
    }
    this.ledger.sent(seqOf(c), id, recipients);
    if (this.win) {
      this.win.sends++;
      this.win.owed += recipients.length;
    }
  }

  /** Opens a measurement window; close it with closeWindow(). */
  openWindow(): void {
    this.win = { t0: performance.now(), sends: 0, heldBack: 0, pushes: 0, owed: 0, lat: [], errors0: this.ps.errors, closes0: this.ps.unexpectedCloses, cpu: watchSelf(), targetPerS: this.ratePerS };
  }

  closeWindow(): WindowStats {
    const w = this.win!;
    this.win = null;
    const seconds = (performance.now() - w.t0) / 1000;
    return {
      seconds,
      targetPerS: w.targetPerS,
      sends: w.sends,
      offeredPerS: w.sends / seconds,
      heldBack: w.heldBack,
      pushes: w.pushes,
      owedPushes: w.owed,
      latencies: Float64Array.from(w.lat),
      errors: this.ps.errors - w.errors0,
      firstError: this.ps.firstError,
      unexpectedCloses: this.ps.unexpectedCloses - w.closes0,
      clientCpuPct: w.cpu.stop(),
    };
  }
}
