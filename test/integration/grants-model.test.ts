// Grants as a property (reliability plan T19): random grant changes interleaved with sends of every
// kind, from members and from a session, against a real broker; every recipient must get exactly
// the messages protocol.md §5.9 allows at the time of the send. The rule: the recipient's entry for
// the sender's member key, else (for a session sender) for its session key, else all four
// capabilities; an entry grants exactly its list, and an empty list blocks. FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, type TestMember, type TestPeer } from "../helpers/mesh.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

type Cap = "dm" | "broadcast" | "group" | "topic";
const CAPS: Cap[] = ["dm", "broadcast", "group", "topic"];
/** Recipients whose mailboxes are checked: a, b, c (0–2). d (3) sends as a member and through its
 *  session s (4). */
const CHECKED = 3;

type Step =
  | { kind: "grant"; recipient: number; sender: number; caps: Cap[] | null }
  | { kind: "send"; sender: number; cap: Cap; target: number };

/** Senders, weighted towards d and its session: the member-then-session lookup needs both to hold
 *  entries at one recipient before s sends. */
const sender = fc.constantFrom(0, 1, 2, 3, 3, 4, 4, 4);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("grant" as const),
      recipient: fc.nat({ max: CHECKED - 1 }),
      sender,
      caps: fc.option(fc.subarray(CAPS), { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), sender, cap: fc.constantFrom(...CAPS), target: fc.nat({ max: CHECKED - 1 }) }) },
);

describe("grants against a model", () => {
  test("each recipient gets exactly what its entries (member key, then session key, else all) allow", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 25 }), fc.subarray([0, 1, 2, 3]), async (steps, inGroup) => {
        // A fresh broker per run (mesh creation is throttled per address): entries and group start empty.
        await using b = await startBroker();
        const { owner } = await createTestMesh(b.url);
        const members: TestMember[] = [owner, await addMember(b.url, owner, "b"), await addMember(b.url, owner, "c"), await addMember(b.url, owner, "d")];
        const peers: TestPeer[] = await Promise.all(members.map((m) => connect(b.url, m)));
        const d = members[3]!;
        const sessionKeys = generateSigningKeypair();
        const s = await connect(b.url, d, {}, { credentials: { kind: "session", meshId: d.meshId, memberId: d.memberId, memberKeys: d.keys, sessionKeys } });
        try {
          const senders = [...peers, s];
          const keyOf = (i: number) => (i < 4 ? members[i]!.keys.publicKey : sessionKeys.publicKey);
          const memberOf = (i: number) => Math.min(i, 3); // the session s belongs to d
          for (const m of inGroup) await peers[m]!.client.request("group_join", { group: "g" });
          const entries: Map<string, Cap[]>[] = members.map(() => new Map());
          const allows = (r: number, sender: number, cap: Cap) => {
            const e = entries[r]!.get(keyOf(memberOf(sender))) ?? (sender === 4 ? entries[r]!.get(keyOf(4)) : undefined) ?? CAPS;
            return e.includes(cap);
          };
          const expected: string[][] = members.map(() => []);
          let n = 0;
          for (const st of steps) {
            if (st.kind === "grant") {
              if (memberOf(st.sender) === st.recipient) continue; // self-grants are not a thing
              await peers[st.recipient]!.client.request("grant_set", { peer: keyOf(st.sender), caps: st.caps });
              if (st.caps === null) entries[st.recipient]!.delete(keyOf(st.sender));
              else entries[st.recipient]!.set(keyOf(st.sender), st.caps);
              continue;
            }
            const from = memberOf(st.sender);
            if (st.cap === "dm" && st.target === from) continue;
            const to = st.cap === "dm" ? members[st.target]!.keys.publicKey : st.cap === "broadcast" ? "*" : st.cap === "group" ? "@g" : "#general";
            const candidates = st.cap === "dm" ? [st.target] : st.cap === "group" ? inGroup : [0, 1, 2, 3];
            const clientMessageId = `grant-model-${n++}`;
            if (st.cap === "group" && inGroup.length === 0) {
              // An empty group is no target (§4.3.3), whatever the grants.
              await expect(senders[st.sender]!.client.request("send", { to, clientMessageId, ...envelope(clientMessageId) })).rejects.toMatchObject({ code: "unknown_recipient" });
              continue;
            }
            const r = await senders[st.sender]!.client.request("send", { to, clientMessageId, ...envelope(clientMessageId) });
            expect(r.undeliverable).toEqual([]); // a block is silent (§5.9)
            for (const c of candidates) if (c !== from && c < CHECKED && allows(c, st.sender, st.cap)) expected[c]!.push(clientMessageId);
          }
          // A last DM from d's member key, allowed by deleting each recipient's entry for it first:
          // pushes to a mailbox come in commit order, so once it is there, everything before it is.
          for (let c = 0; c < CHECKED; c++) {
            await peers[c]!.client.request("grant_set", { peer: keyOf(3), caps: null });
            await peers[3]!.client.request("send", { to: members[c]!.keys.publicKey, clientMessageId: `last-message-${c}`, ...envelope("last") });
          }
          for (let c = 0; c < CHECKED; c++) {
            await peers[c]!.waitMessages(expected[c]!.length + 1);
            const got = peers[c]!.messages.map((m) => Buffer.from(m.ciphertext, "base64").toString());
            expect({ recipient: c, got }).toEqual({ recipient: c, got: [...expected[c]!, "last"] });
          }
        } finally {
          [...peers, s].forEach((p) => p.close());
        }
      }),
      { numRuns: 40, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
  }, 300_000);
});
