// The bounds a send's queue entries meet (docs/protocol.md §5.11), from the narrowest: each
// recipient mailbox's queueQuota, the sending member's share of that mailbox (queueSenderShare),
// the mesh's meshQueueQuota and the broker's brokerQueueQuota. The last bounds the broker's memory
// (the queue index holds every entry); the mesh's keeps one mesh from taking all of it; the share
// keeps one runaway sender from filling a recipient's mailbox against everyone else.
//
// All four read counters the store's queue index keeps (Store.queueLoad: one call per send), plus
// what waits in the group commit, counted as stored so that a burst landing in one batch cannot
// overshoot: O(1) per mailbox.
import { MeshError } from "../protocol/errors.ts";
import type { Undeliverable } from "../protocol/results.ts";
import type { QueueLoad } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";

/** Which bound kept an entry out, as `broker_queue_refused_total{bound}` names it. */
export type Bound = "mailbox" | "sender" | "mesh" | "broker";

/** The widest bound first: the one a refused direct message names. */
const WIDEST: readonly Bound[] = ["broker", "mesh", "sender", "mailbox"];

export type Admission = {
  /** Mailboxes that take the message, in the order given. */
  recipients: string[];
  /** The others, each `quota_exceeded`, in the order given. */
  undeliverable: Undeliverable[];
  /** How many mailboxes each bound kept out. */
  refused: Map<Bound, number>;
};

/** The most entries one sending member's messages may hold in one mailbox: its share of the
 *  mailbox's quota, rounded up (so at least one). */
export const senderShare = (c: { queueQuota: number; queueSenderShare: number }): number => Math.ceil((c.queueQuota * c.queueSenderShare) / 100);

/** Splits a send's mailboxes in a mesh (after grants) into those that take it and those a bound
 *  keeps out, given the store's counts for them (`load`, Store.queueLoad of the same mailboxes and
 *  sender). A mailbox is checked against its quota, then the sender's share of it; while both
 *  allow, it takes one of the entries the mesh and the broker have room for, in the order given,
 *  until there are none. An entry of a send still being committed counts as stored (for the share,
 *  as the sender's: it can refuse a moment early, never overshoot). Synchronous, so that the caller
 *  can hand the send to the group commit before any other send is checked. Changes nothing. */
export function admitToQueues(ctx: Pick<BrokerContext, "config" | "writes">, meshId: string, boxes: readonly string[], load: QueueLoad): Admission {
  const { config: c, writes } = ctx;
  const brokerRoom = c.brokerQueueQuota - load.total - writes.uncommittedIn();
  const meshRoom = c.meshQueueQuota - load.mesh - writes.uncommittedIn(meshId);
  let room = Math.min(brokerRoom, meshRoom);
  const roomBound: Bound = brokerRoom <= meshRoom ? "broker" : "mesh";
  const share = senderShare(c);
  const out: Admission = { recipients: [], undeliverable: [], refused: new Map() };
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i]!;
    const waiting = writes.uncommittedFor(meshId, box);
    const bound: Bound | null =
      load.depths[i]! + waiting >= c.queueQuota ? "mailbox" : load.fromSender[i]! + waiting >= share ? "sender" : room <= 0 ? roomBound : null;
    if (bound === null) {
      out.recipients.push(box);
      room--;
      continue;
    }
    out.undeliverable.push({ to: box, code: "quota_exceeded" });
    out.refused.set(bound, (out.refused.get(bound) ?? 0) + 1);
  }
  return out;
}

/** The refusal of a direct message no mailbox took, naming the widest bound that kept one out.
 *  The broker's count is not told: it would tell any member how much the whole broker holds. */
export function quotaError(c: { queueQuota: number; queueSenderShare: number; meshQueueQuota: number }, refused: ReadonlyMap<Bound, number>): MeshError {
  const bound = WIDEST.find((b) => refused.has(b)) ?? "mailbox";
  const ask = "Retry after recipients have read their messages, or ask the broker's operator to raise it.";
  switch (bound) {
    case "broker":
      return new MeshError("quota_exceeded", `The broker holds as many undelivered messages as it may (brokerQueueQuota). ${ask}`);
    case "mesh":
      return new MeshError("quota_exceeded", `This mesh has ${c.meshQueueQuota} undelivered messages waiting, its limit (meshQueueQuota). ${ask}`);
    case "sender":
      return new MeshError(
        "quota_exceeded",
        `Your messages fill your share of the recipient's queue: ${senderShare(c)} of its ${c.queueQuota} (queueSenderShare ${c.queueSenderShare}%). Retry after they have read some.`,
      );
    case "mailbox":
      return new MeshError("quota_exceeded", "The recipient's queue is full. Retry after they have read their messages.");
  }
}
