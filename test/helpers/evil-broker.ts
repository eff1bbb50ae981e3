// A modified broker, for the end-to-end tests of what a recipient detects (reliability plan T17):
// the real in-process broker, with every message it hands a client (a push, or a message in a
// `fetch` result) passed through the test's `rewrite` first, as a broker whose operator changed its
// code would do. Between the broker's store and the client's socket is the only place such a
// broker can act on a message it cannot open; the clients' boxes, signatures and replay memory
// are the defence under test. Installed on the Conn class, so one per test process at a time.
// `answer` plays a broker whose answers to requests are malformed (a result's `data` of another
// shape than docs/protocol.md §4.3 gives): installed on the handler table while it is set.
import { Conn } from "../../src/broker/conn.ts";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import type { RequestType } from "../../src/protocol/frames.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { SigningKeypair } from "../../src/crypto/sign.ts";

/** The connection a message is handed to: its mesh and the key it authenticated with. */
export type Recipient = { meshId: string; pubkey: string };

/** What the broker hands out instead of `m`: [] drops it, [m, m] pushes it twice. */
export type Rewrite = (m: MessagePushFrame, to: Recipient) => MessagePushFrame[];

const honest: Rewrite = (m) => [m];
const PUSH_PREFIX = '{"type":"message"';
const RESULT_PREFIX = '{"type":"result"';

/** What the broker answers to a `type` request instead of `data`, its honest answer (undefined
 *  for requests of other types: answered honestly). */
export type Answer = (type: RequestType, data: any) => unknown;

export type EvilBroker = {
  /** Every message the broker handed out so far (before the rewrite), to whom. */
  readonly handed: { to: Recipient; m: MessagePushFrame }[];
  /** Applied from now on to every message handed out; honest again when set to null. */
  rewrite: Rewrite | null;
  /** Applied from now on to the data of every request's result (`send` included); honest again
   *  when set to null. */
  answer: Answer | null;
  [Symbol.dispose](): void;
};

export function evilBroker(): EvilBroker {
  const real = { send: Conn.prototype.send, sendRaw: Conn.prototype.sendRaw };
  const handlers = { ...HANDLERS };
  const handed: EvilBroker["handed"] = [];
  let rewrite: Rewrite = honest;
  let answer: Answer | null = null;
  const answered = (type: RequestType, data: unknown) => {
    const lie = answer?.(type, data);
    return lie === undefined ? data : lie;
  };
  const recipient = (c: Conn): Recipient => ({ meshId: c.identity!.meshId, pubkey: c.identity!.pubkey });
  const pass = (c: Conn, msgs: MessagePushFrame[]) => {
    const to = recipient(c);
    return msgs.flatMap((m) => (handed.push({ to, m }), rewrite(m, to)));
  };
  /** A result as the lying broker sends it: a send's result (the session calls its handler
   *  itself, not through the table, so it is told by its shape) through `answer`, and the messages
   *  of a `fetch` page handed out as pushes are. */
  const lyingResult = (c: Conn, f: { type?: string; data?: { messages?: unknown; messageId?: unknown; duplicate?: unknown } }) => {
    if (answer && typeof f.data?.messageId === "string" && typeof f.data.duplicate === "boolean") return { ...f, data: answered("send", f.data) };
    if (Array.isArray(f.data?.messages) && c.identity) return { ...f, data: { ...f.data, messages: pass(c, f.data.messages as MessagePushFrame[]) } };
    return f;
  };
  // Everything a Conn writes goes through sendRaw (send stringifies, then calls it; a request's
  // result is written as text, its length checked first).
  Conn.prototype.sendRaw = function (this: Conn, text: string): boolean {
    if (text.startsWith(RESULT_PREFIX)) {
      const f = JSON.parse(text);
      const out = lyingResult(this, f);
      return real.sendRaw.call(this, out === f ? text : JSON.stringify(out));
    }
    if (!text.startsWith(PUSH_PREFIX) || !this.identity) return real.sendRaw.call(this, text);
    return pass(this, [JSON.parse(text)])
      .map((m) => real.sendRaw.call(this, JSON.stringify(m)))
      .every(Boolean);
  };
  return {
    handed,
    get rewrite() {
      return rewrite === honest ? null : rewrite;
    },
    set rewrite(fn: Rewrite | null) {
      rewrite = fn ?? honest;
    },
    get answer() {
      return answer;
    },
    set answer(fn: Answer | null) {
      answer = fn;
      Object.assign(HANDLERS, handlers);
      if (!fn) return;
      for (const type of Object.keys(handlers) as RequestType[]) {
        const handler = handlers[type] as (...a: unknown[]) => Promise<unknown>;
        (HANDLERS as Record<string, unknown>)[type] = async (...a: unknown[]) => answered(type, await handler(...a));
      }
    },
    [Symbol.dispose]() {
      Object.assign(Conn.prototype, real);
      Object.assign(HANDLERS, handlers);
    },
  };
}

/** A direct message to `to` boxed by `signer` (a key of the broker's), pushed as `m` with `m`'s
 *  sender name and member id, but `signer` as its key and member key: what a broker can write
 *  under a member's name. A new messageId and clientMessageId. */
export function forgedDm(m: MessagePushFrame, signer: SigningKeypair, to: string, body: string): MessagePushFrame {
  const id = randomId();
  const sealed = sealEnvelope({ mesh: m.meshId, from: signer.publicKey, to, id, ts: Date.now(), kind: "text", body }, { mySecret: signer.secretKey });
  return { ...m, ...sealed, messageId: randomId(), clientMessageId: id, from: { ...m.from, pubkey: signer.publicKey, memberPubkey: signer.publicKey } };
}
