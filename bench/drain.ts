// Drain (broker only: the raw relay has no queue). One member stays offline while senders queue
// `count` messages for it, each sender keeping a few sends in flight; then the member connects
// and acks in batches as pushes arrive. Measures the queueing rate, the drain rate from connect
// to the last push, and the broker's RSS before, after queueing and at its peak while draining.
import { PeerSet, brokerDialect } from "./peers.ts";
import { rssMiB, watchCpus, watchProcess, type CpuShare, type Usage } from "./proc.ts";
import type { Member } from "./setup.ts";
import { until } from "./load.ts";

/** Sends each sender keeps outstanding while queueing. */
const PIPELINE = 32;

export type DrainResult = {
  messages: number;
  senders: number;
  /** Sends committed per second while the recipient was offline. */
  queuedPerS: number;
  /** Pushes per second from the recipient's connect until its last push. */
  drainPerS: number;
  drainMs: number;
  /** Connect → hello_ack, ms (includes counting the pending queue). */
  helloAckMs: number;
  rssBeforeMiB: number;
  rssQueuedMiB: number;
  /** RSS growth over the whole scenario: peak while draining minus before queueing. */
  rssGrowthMiB: number;
  server: Usage;
  /** Busy and steal % per CPU while draining. */
  cpus: Record<string, CpuShare>;
  errors: number;
};

/**
 * @param senders connected peers of `ps` that send (any of its sockets).
 * @param recipient index in `members` of a member that is not connected.
 */
export async function drain(ps: PeerSet, senders: readonly number[], members: readonly Member[], recipient: number, count: number, o: { serverPid: number; wsUrl: string; timeoutMs: number }): Promise<DrainResult> {
  const rssBeforeMiB = rssMiB(o.serverPid);
  let issued = 0;
  let answered = 0;
  let failed = 0;
  const sendOne = (from: number) => {
    issued++;
    ps.send(from, recipient, `d${from}_${issued}_${Date.now()}`);
  };
  ps.handlers = {
    onPush: () => {},
    onReply(from, ok) {
      answered++;
      if (!ok) failed++;
      if (issued < count) sendOne(from);
    },
  };
  const q0 = performance.now();
  for (const s of senders) for (let k = 0; k < PIPELINE && issued < count; k++) sendOne(s);
  if (!(await until(() => answered >= count, o.timeoutMs))) throw new Error(`drain: only ${answered}/${count} sends answered within ${o.timeoutMs} ms`);
  const queuedPerS = count / ((performance.now() - q0) / 1000);
  if (failed > 0) throw new Error(`drain: ${failed} sends failed while queueing: ${ps.firstError}`);
  const rssQueuedMiB = rssMiB(o.serverPid);

  // The recipient: its own socket so its pushes are counted apart from the senders' traffic.
  const rx = new PeerSet(brokerDialect(members), o.wsUrl);
  let pushed = 0;
  let last = 0;
  rx.handlers = {
    onPush(_to, _cid, at) {
      pushed++;
      last = at;
    },
  };
  const usage = watchProcess(o.serverPid, 100);
  const cpus = watchCpus();
  const t0 = performance.now();
  await rx.connect([recipient]);
  const helloAckMs = performance.now() - t0;
  const ok = await until(() => pushed >= count, o.timeoutMs);
  const server = usage.stop();
  const cpuShares = cpus.stop();
  rx.close();
  if (!ok) throw new Error(`drain: only ${pushed}/${count} pushes within ${o.timeoutMs} ms`);
  const drainMs = last - t0;
  return {
    messages: count,
    senders: senders.length,
    queuedPerS,
    drainPerS: count / (drainMs / 1000),
    drainMs,
    helloAckMs,
    rssBeforeMiB,
    rssQueuedMiB,
    rssGrowthMiB: Math.max(server.rssPeakMiB, rssQueuedMiB) - rssBeforeMiB,
    server,
    cpus: cpuShares,
    errors: failed + rx.errors,
  };
}
