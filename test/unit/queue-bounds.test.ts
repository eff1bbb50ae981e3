// The queue bounds' arithmetic (src/broker/queue-bounds.ts, docs/protocol.md §5.11), on given
// counts: which mailboxes take a send, which bound keeps each other one out, and what a refused
// direct message says. The integration side is test/integration/queue-bounds.test.ts.
import { describe, expect, test } from "bun:test";
import { admitToQueues, quotaError, senderShare } from "../../src/broker/queue-bounds.ts";
import type { GroupCommit } from "../../src/broker/group-commit.ts";
import type { BrokerConfig } from "../../src/config/load.ts";

const limits = { queueQuota: 10, queueSenderShare: 50, meshQueueQuota: 100, brokerQueueQuota: 1000 };

/** A context whose group commit holds `waiting` entries per mailbox (and their sum, in mesh "m"). */
function ctx(over: Partial<typeof limits> = {}, waiting: Record<string, number> = {}) {
  const sum = Object.values(waiting).reduce((a, b) => a + b, 0);
  const writes = { uncommittedFor: (_: string, box: string) => waiting[box] ?? 0, uncommittedIn: () => sum } as unknown as GroupCommit;
  return { config: { ...limits, ...over } as unknown as BrokerConfig, writes };
}

const admitted = (a: ReturnType<typeof admitToQueues>) => ({ recipients: a.recipients, skipped: a.undeliverable.map((u) => u.to), refused: Object.fromEntries(a.refused) });

describe("admitToQueues", () => {
  test("each bound in turn: the mailbox's quota, then the sender's share, then the room left", () => {
    const boxes = ["full", "shared", "a", "b", "c"];
    const load = { depths: [10, 6, 0, 0, 0], fromSender: [0, 5, 0, 0, 0], mesh: 98, total: 98 };
    expect(admitted(admitToQueues(ctx(), "m", boxes, load))).toEqual({ recipients: ["a", "b"], skipped: ["full", "shared", "c"], refused: { mailbox: 1, sender: 1, mesh: 1 } });
  });

  test("the narrower of the broker's and the mesh's room is named", () => {
    const load = { depths: [0, 0], fromSender: [0, 0], mesh: 0, total: 999 };
    expect(admitted(admitToQueues(ctx(), "m", ["a", "b"], load))).toEqual({ recipients: ["a"], skipped: ["b"], refused: { broker: 1 } });
  });

  test("entries waiting in the group commit count as stored, and toward the sender's share", () => {
    const load = { depths: [4, 0], fromSender: [4, 0], mesh: 4, total: 4 };
    expect(admitted(admitToQueues(ctx({}, { a: 1 }), "m", ["a", "b"], load))).toEqual({ recipients: ["b"], skipped: ["a"], refused: { sender: 1 } });
    expect(admitted(admitToQueues(ctx({ meshQueueQuota: 6 }, { x: 1 }), "m", ["a", "b"], { ...load, fromSender: [0, 0] }))).toEqual({ recipients: ["a"], skipped: ["b"], refused: { mesh: 1 } });
  });

  test("the share is rounded up, and 100 % is the mailbox's quota", () => {
    expect([senderShare({ queueQuota: 1, queueSenderShare: 50 }), senderShare({ queueQuota: 3, queueSenderShare: 50 }), senderShare({ queueQuota: 10_000, queueSenderShare: 50 }), senderShare({ queueQuota: 7, queueSenderShare: 100 })]).toEqual([1, 2, 5000, 7]);
  });
});

describe("quotaError", () => {
  test("names the widest bound that kept a mailbox out", () => {
    const say = (...bounds: string[]) => quotaError(limits, new Map(bounds.map((b) => [b as "mailbox", 1]))).message;
    expect(say("mailbox", "sender", "broker")).toStartWith("The broker holds as many undelivered messages as it may (brokerQueueQuota).");
    expect(say("mailbox", "mesh")).toStartWith("This mesh has 100 undelivered messages waiting, its limit (meshQueueQuota).");
    expect(say("mailbox", "sender")).toBe("Your messages fill your share of the recipient's queue: 5 of its 10 (queueSenderShare 50%). Retry after they have read some.");
    expect(say("mailbox")).toBe("The recipient's queue is full. Retry after they have read their messages.");
    expect(quotaError(limits, new Map()).toJSON()).toMatchObject({ code: "quota_exceeded", retryable: true });
  });
});
