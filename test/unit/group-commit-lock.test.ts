// The group commit meeting another process's write lock (docs/operations.md, "A lock held by
// another process"): the batch is tried again in place, in order, with its claims taken afresh
// each time, and nothing settles before the commit that went through.
import { expect, test } from "bun:test";
import { GroupCommit } from "../../src/broker/group-commit.ts";
import { StoreLocked } from "../../src/store/errors.ts";
import type { NewMessage, SendOutcome, Store, WriteBatch } from "../../src/store/types.ts";

/** A store whose commitWrites meets a lock `refusals` times, then commits. */
function fakeStore(refusals: number) {
  const committed: string[] = [];
  let tries = 0;
  const store = {
    async commitWrites(batch: WriteBatch) {
      tries++;
      if (refusals-- > 0) throw new StoreLocked({ cause: new Error("database is locked") });
      committed.push(...batch.sends.map((m) => m.clientMessageId));
      // What claims the store would have written with the rows.
      const sends: SendOutcome[] = batch.sends.map((m) => ({ message: { id: m.clientMessageId, claimedFor: [...m.claimFor.values()] } as never, undeliverable: [], duplicate: false, recipients: m.recipients }));
      return { sends, acks: batch.acks.map(() => 0) };
    },
  } as unknown as Store;
  return { store, committed, tries: () => tries };
}

const message = (id: string): NewMessage => ({ meshId: "m", senderPubkey: "s", clientMessageId: id, recipients: ["bob"], claimFor: new Map(), forNextSession: new Set() }) as unknown as NewMessage;

/** Hooks that count the claims they hold, as the router's do (claimedUncommitted). */
function hooks(order: string[], id: string) {
  const held = { n: 0 };
  return {
    held,
    hooks: {
      claim: () => (held.n++, "conn-1"),
      forNextSession: () => false,
      unclaim: () => void (held.n = 0),
      committed: (o: SendOutcome) => void order.push(`${id}:${(o.message as unknown as { claimedFor: string[] }).claimedFor.join()}`),
    },
  };
}

test("a locked batch is tried again until it commits: in order, claims taken once per try", async () => {
  const { store, committed, tries } = fakeStore(3);
  const writes = new GroupCommit(store, { topicHistory: 10, now: () => 0, onBatch: () => {} });
  const order: string[] = [];
  const a = hooks(order, "a");
  const b = hooks(order, "b");
  const settled: string[] = [];
  const sends = [writes.send(message("a"), a.hooks).then(() => settled.push("a")), writes.send(message("b"), b.hooks).then(() => settled.push("b"))];
  await Promise.all(sends);
  expect({ tries: tries(), committed, order, settled, held: [a.held.n, b.held.n] }).toEqual({ tries: 4, committed: ["a", "b"], order: ["a:conn-1", "b:conn-1"], settled: ["a", "b"], held: [1, 1] });
  expect(writes.uncommittedFor("m", "bob")).toBe(0);
});
