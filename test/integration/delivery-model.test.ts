// Model-based delivery (reliability plan T7): random sequences of sends at each priority, retries,
// acks, status changes, recipient connects and disconnects, and broker restarts, run against a real
// broker and checked against a simple model after every step. The model is protocol.md §5: a
// mailbox is a FIFO of the messages not yet acked; a connection is handed, in that order, each
// entry its status lets through (§5.7: `now` always, `next`/`low` only while idle), each once; held
// entries follow, oldest first, when it becomes idle; a committed ack removes a message for good;
// a retry is stored once (same messageId, `duplicate: true`); a reconnect within the grace period
// re-attaches to the presence and keeps its status, across a clean restart too (the broker carries
// its presences over: protocol.md §2.7), while a new presence starts idle unless the stored status
// is dnd. FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, type TestMember, type TestPeer } from "../helpers/mesh.ts";

type Priority = "now" | "next" | "low";
type Status = "idle" | "working" | "dnd";
type Command =
  | { kind: "send"; from: number; priority: Priority }
  | { kind: "status"; status: Status }
  | { kind: "retry"; pick: number }
  | { kind: "connect" }
  | { kind: "disconnect" }
  | { kind: "ack"; count: number }
  | { kind: "restart" };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("send" as const), from: fc.nat({ max: 1 }), priority: fc.constantFrom<Priority>("now", "next", "low") }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom<Status>("idle", "working", "dnd") }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("retry" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: "connect" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "disconnect" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

type Sent = { from: number; priority: Priority; clientMessageId: string; nonce: string; ciphertext: string; messageId: string };

const passes = (p: Priority, status: Status) => p === "now" || status === "idle";

/** One run: a broker, two senders that stay connected, and bob, whose mailbox the model follows. */
class World {
  b!: TestBroker;
  senders: TestPeer[] = [];
  bob: TestPeer | null = null;
  readonly sent: Sent[] = [];
  readonly acked = new Set<string>();
  /** What bob's current connection must be handed, in order (protocol.md §5.5). */
  expected: string[] = [];
  /** Unacked messages its status holds back from it, in queue order (§5.7). */
  held: Sent[] = [];
  /** Bob's presence status, and the one stored for his next presence. */
  status: Status = "idle";
  stored: Status = "idle";
  /** Whether bob's presence outlives his connection (the 30 s grace, carried across a clean restart). */
  presence = false;
  /** How many of bob's pushes on this connection were acked (they are the first ones, in order). */
  ackedHere = 0;

  private constructor(
    private readonly dataDir: string,
    private readonly members: { owner: TestMember; carol: TestMember; bob: TestMember },
  ) {}

  static async create(): Promise<World> {
    const dataDir = tempDir("cm-model-");
    const b = await startBroker({}, { dataDir });
    const { owner } = await createTestMesh(b.url);
    const carol = await addMember(b.url, owner, "carol");
    const bob = await addMember(b.url, owner, "bob");
    const w = new World(dataDir, { owner, carol, bob });
    w.b = b;
    await w.connectSenders();
    return w;
  }

  private async connectSenders() {
    this.senders = [await connect(this.b.url, this.members.owner), await connect(this.b.url, this.members.carol)];
  }

  /** Messages reach bob's connection: those its status lets through are handed, in order; the
   *  rest are held. */
  private hand(messages: Sent[]) {
    for (const m of messages) {
      if (passes(m.priority, this.status)) this.expected.push(m.messageId);
      else this.held.push(m);
    }
  }

  async run(c: Command): Promise<void> {
    switch (c.kind) {
      case "send": {
        const s = { from: c.from, priority: c.priority, clientMessageId: `model-${this.sent.length}-${Math.random().toString(36).slice(2, 10)}`, ...envelope(`m${this.sent.length}`) };
        const r = await this.senders[c.from]!.client.request("send", { to: this.members.bob.keys.publicKey, clientMessageId: s.clientMessageId, nonce: s.nonce, ciphertext: s.ciphertext, priority: s.priority });
        expect(r.duplicate).toBe(false);
        const sent = { ...s, messageId: r.messageId };
        this.sent.push(sent);
        if (this.bob) this.hand([sent]);
        return;
      }
      case "status": {
        if (!this.bob) return;
        await this.bob.client.request("set_status", { status: c.status });
        this.status = this.stored = c.status;
        if (c.status === "idle") this.hand(this.held.splice(0));
        return;
      }
      case "retry": {
        if (this.sent.length === 0) return;
        const s = this.sent[c.pick % this.sent.length]!;
        const r = await this.senders[s.from]!.client.request("send", { to: this.members.bob.keys.publicKey, clientMessageId: s.clientMessageId, nonce: s.nonce, ciphertext: s.ciphertext, priority: s.priority });
        expect({ duplicate: r.duplicate, messageId: r.messageId }).toEqual({ duplicate: true, messageId: s.messageId });
        return;
      }
      case "connect":
        if (!this.bob) await this.connectBob();
        return;
      case "disconnect":
        this.bob?.close();
        this.bob = null;
        return;
      case "ack": {
        if (!this.bob) return;
        const ids = this.bob.messages.slice(this.ackedHere, this.ackedHere + c.count).map((m) => m.messageId);
        if (ids.length === 0) return;
        await this.bob.client.ackSync(ids); // its result means committed (§5.4)
        ids.forEach((id) => this.acked.add(id));
        this.ackedHere += ids.length;
        return;
      }
      case "restart": {
        const bobWasOn = this.bob !== null;
        this.bob?.close();
        this.bob = null;
        this.senders.forEach((p) => p.close());
        await this.b.stop(); // a clean stop: the presence, if any, is carried over (in its grace)
        this.b = await startBroker({}, { dataDir: this.dataDir });
        await this.connectSenders();
        if (bobWasOn) await this.connectBob();
        return;
      }
    }
  }

  private async connectBob() {
    this.expected = [];
    this.held = [];
    this.ackedHere = 0;
    if (!this.presence) this.status = this.stored === "dnd" ? "dnd" : "idle";
    this.hand(this.sent.filter((m) => !this.acked.has(m.messageId)));
    this.bob = await connect(this.b.url, this.members.bob);
    expect(this.bob.ack.reattached).toBe(this.presence);
    this.presence = true;
  }

  /** Bob's connection has been handed exactly what the model says, in order. */
  async check(): Promise<void> {
    if (!this.bob) return;
    await this.bob.waitMessages(this.expected.length).catch(() => {}); // a shortfall shows below
    expect(this.bob.messages.map((m) => m.messageId)).toEqual(this.expected);
  }

  async close() {
    this.bob?.close();
    this.senders.forEach((p) => p.close());
    await this.b.stop();
  }
}

describe("delivery against a model", () => {
  test("random sends, retries, acks, reconnects and restarts keep every mailbox FIFO, complete and exactly as acked", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
        const w = await World.create();
        try {
          for (const c of commands) {
            await w.run(c);
            await w.check();
          }
          // At the end bob connects once more and must get exactly what was never acked.
          await w.run({ kind: "disconnect" });
          await w.run({ kind: "connect" });
          await w.check();
          // Nothing beyond it arrives (a late duplicate would show up here).
          await w.run({ kind: "send", from: 0, priority: "now" });
          await w.check();
        } finally {
          await w.close();
        }
      }),
      { numRuns: 100, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
  }, 300_000);
});
