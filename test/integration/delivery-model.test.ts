// Model-based delivery (reliability plan T7): random sequences of sends, retries, acks, recipient
// connects and disconnects, and broker restarts, run against a real broker and checked against a
// simple model after every step. The model is protocol.md §5: a mailbox is a FIFO of the messages
// not yet acked; each connection is handed that FIFO in order, from its oldest entry, then every
// message sent while it is open, at most once per connection; a committed ack removes a message
// for good; a retry is stored once (same messageId, `duplicate: true`). FUZZ_SEED replays a run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, type TestMember, type TestPeer } from "../helpers/mesh.ts";

type Command =
  | { kind: "send"; from: number }
  | { kind: "retry"; pick: number }
  | { kind: "connect" }
  | { kind: "disconnect" }
  | { kind: "ack"; count: number }
  | { kind: "restart" };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("send" as const), from: fc.nat({ max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("retry" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: "connect" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "disconnect" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

type Sent = { from: number; clientMessageId: string; nonce: string; ciphertext: string; messageId: string };

/** One run: a broker, two senders that stay connected, and bob, whose mailbox the model follows. */
class World {
  b!: TestBroker;
  senders: TestPeer[] = [];
  bob: TestPeer | null = null;
  readonly sent: Sent[] = [];
  readonly acked = new Set<string>();
  /** What bob's current connection must be handed, in order (protocol.md §5.5). */
  expected: string[] = [];
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

  private unacked(): string[] {
    return this.sent.map((s) => s.messageId).filter((id) => !this.acked.has(id));
  }

  async run(c: Command): Promise<void> {
    switch (c.kind) {
      case "send": {
        const s = { from: c.from, clientMessageId: `model-${this.sent.length}-${Math.random().toString(36).slice(2, 10)}`, ...envelope(`m${this.sent.length}`) };
        const r = await this.senders[c.from]!.client.request("send", { to: this.members.bob.keys.publicKey, clientMessageId: s.clientMessageId, nonce: s.nonce, ciphertext: s.ciphertext });
        expect(r.duplicate).toBe(false);
        this.sent.push({ ...s, messageId: r.messageId });
        if (this.bob) this.expected.push(r.messageId);
        return;
      }
      case "retry": {
        if (this.sent.length === 0) return;
        const s = this.sent[c.pick % this.sent.length]!;
        const r = await this.senders[s.from]!.client.request("send", { to: this.members.bob.keys.publicKey, clientMessageId: s.clientMessageId, nonce: s.nonce, ciphertext: s.ciphertext });
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
        await this.b.stop();
        this.b = await startBroker({}, { dataDir: this.dataDir });
        await this.connectSenders();
        if (bobWasOn) await this.connectBob();
        return;
      }
    }
  }

  private async connectBob() {
    this.expected = this.unacked();
    this.ackedHere = 0;
    this.bob = await connect(this.b.url, this.members.bob);
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
          await w.run({ kind: "send", from: 0 });
          await w.check();
        } finally {
          await w.close();
        }
      }),
      { numRuns: 100, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
  }, 300_000);
});
