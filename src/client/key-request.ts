// Key requests: a member without the mesh's current keys (it joined with an invite made before a
// rotation) asks the owner, and the owner answers only a member whose enrolment it can check.
//
// One request, answered once. The request is a message that waits in the owner's mailbox while
// the owner is away, so a member that asked does not ask again for the same epoch within
// KEYS_ASK_INTERVAL_MS, from any process of this machine (KeyAskMemory: config.json), and the
// owner answers the requests of one member that it reads together (or while answering) once: each
// `join`, refused post and `inbox` of a late joiner used to send one, and the owner's `inbox` sent
// the keys once for each. A request that is lost (not sent, or read by an owner that could not
// answer it) is made again at the member's next post or `inbox` once the interval has passed, and
// one asked after the owner's answer (that answer was set aside as stale) is answered again.
import type { Results } from "../protocol/results.ts";
import type { BrokerClient } from "./client.ts";
import { vouchedMembers, type Removals } from "./admission.ts";
import { memberEvidence } from "./lookups.ts";
import { keysBody } from "./invite-build.ts";
import { mayHaveBeenStored } from "./send-error.ts";
import type { Delivered, MeshSession } from "./mesh-session.ts";

export const KEY_REQUEST = JSON.stringify({ request: "keys" });
export const isKeyRequest = (body: string) => body === KEY_REQUEST;

/** How long a member that asked the owner for the keys waits before it asks again. */
export const KEYS_ASK_INTERVAL_MS = 10 * 60_000;

/** Asks the owner for the current mesh keys (after joining with an invite made before a rotation). */
export function requestKeys(session: MeshSession, client: BrokerClient): Promise<Results["send"]> {
  return session.send(client, session.id.ownerPubkey, KEY_REQUEST, { kind: "system", priority: "now" });
}

/** When this member last asked for the keys of mesh epoch `epoch` (`at`: ms, wall clock). */
export type KeysAsked = { epoch: number; at: number };

/** What this machine remembers of its key requests, across its processes (keys-asked.ts: the
 *  mesh's entry in config.json). `asked` never rejects: a note not written costs a repeated ask. */
export type KeyAskMemory = { last(): KeysAsked | undefined; asked(note: KeysAsked): Promise<void> };

/** Whether `note` says a request for `meshEpoch` (or a later epoch) went out within the interval
 *  before `now`; not across a clock set back past it (then the member asks). */
export const askedLately = (note: KeysAsked | undefined, meshEpoch: number, now: number): boolean =>
  note !== undefined && note.epoch >= meshEpoch && now >= note.at && now - note.at < KEYS_ASK_INTERVAL_MS;

/** A member's key requests: at most one per KEYS_ASK_INTERVAL_MS in this process (by the monotonic
 *  clock, which a wall clock set back cannot hold up), and none for an epoch this machine asked for
 *  within it (`memory`). */
export class KeyAsks {
  private askedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly memory: KeyAskMemory | null = null) {}

  /** Sends the request for `meshEpoch` unless one went out within the interval. True if it was
   *  sent; false also when it could not be (nothing was noted: the next post or inbox asks). */
  async ask(session: MeshSession, client: BrokerClient, meshEpoch: number): Promise<boolean> {
    const now = performance.now();
    if (now - this.askedAt < KEYS_ASK_INTERVAL_MS || askedLately(this.memory?.last(), meshEpoch, Date.now())) return false;
    this.askedAt = now; // before the send: two asks at once in this process make one request
    try {
      await requestKeys(session, client);
    } catch {
      this.askedAt = Number.NEGATIVE_INFINITY;
      return false;
    }
    await this.memory?.asked({ epoch: meshEpoch, at: Date.now() });
    return true;
  }
}

/** What the owner did with a key request: sent the keys, found it `covered` by an answer to the same
 *  member stored after it, or refused it (not the owner, or a requester it cannot vouch for). */
export type KeyAnswer = "sent" | "covered" | "refused";

/** The owner's answers to key requests, for one process (one `inbox`, one MCP server): a request the
 *  broker stored before this owner's answer to the same member key was stored is covered by that
 *  answer (requests the member repeated while the owner was away, read together); one stored after
 *  it (the member asked again: the answer was lost, or set aside as stale) is answered again. The
 *  requests of one member are taken one after another, so two pushed at once make one answer. Both
 *  times are the broker's (`createdAt`), so no two clocks are compared. An answer whose send failed
 *  without the broker's confirmation (mayHaveBeenStored) is tried again with the same client
 *  message id, which the broker answers as a duplicate if it stored the first: one `keys` message
 *  however often a request is tried. */
export class KeyAnswers {
  /** By requester member key: when the broker stored the last answer (null: none yet). */
  private readonly last = new Map<string, Promise<number | null>>();
  /** By requester member key: the answer that may have been stored unconfirmed, and what it said
   *  (a retry after a rotation carries other keys, so it is a new message). */
  private readonly unconfirmed = new Map<string, { clientMessageId: string; body: string }>();

  /** Answers `request` (answerKeyRequest) unless covered. Rejects as answerKeyRequest does; the
   *  request is then not covered, and the caller may leave it unacked to be answered later. */
  answer(session: MeshSession, client: BrokerClient, request: Pick<Delivered, "from" | "createdAt">, removals?: Removals): Promise<KeyAnswer> {
    const key = request.from.memberPubkey;
    const before = this.last.get(key) ?? Promise.resolve(null);
    const turn = before.then(async (last): Promise<{ outcome: KeyAnswer; last: number | null }> => {
      if (last !== null && request.createdAt <= last) return { outcome: "covered", last };
      const body = keysBody(session.meshKeys);
      const retry = this.unconfirmed.get(key);
      const clientMessageId = retry?.body === body ? retry.clientMessageId : undefined;
      const storedAt = await answerKeyRequest(session, client, request.from, removals, { body, clientMessageId }).catch((err: unknown) => {
        if (mayHaveBeenStored(err)) this.unconfirmed.set(key, { clientMessageId: err.clientMessageId, body });
        throw err;
      });
      this.unconfirmed.delete(key);
      return { outcome: storedAt === null ? "refused" : "sent", last: storedAt ?? last };
    });
    this.last.set(key, turn.then((t) => t.last, () => before));
    return turn.then((t) => t.outcome);
  }
}

/** The owner's answer to a key request: sends every epoch's key, but only to an active member
 *  whose enrolment the owner can check itself (admission.ts): the request and the member list
 *  both come through the broker, which must not be able to ask for the keys on a key of its own.
 *  Resolves to when the broker stored the answer (its `createdAt`), or null when none was sent.
 *  `send.body`: the keys to send (default: every epoch held now); `send.clientMessageId` only to
 *  retry an answer that may have been stored (SendError). */
export async function answerKeyRequest(session: MeshSession, client: BrokerClient, from: Delivered["from"], removals?: Removals, send: { body?: string; clientMessageId?: string | undefined } = {}): Promise<number | null> {
  if (session.id.publicKey !== session.id.ownerPubkey && session.id.memberPubkey !== session.id.ownerPubkey) return null;
  // The requester's rows (member_lookup), as a send vouches for its recipient; the whole list from
  // a broker without it.
  const { members, counts } = await memberEvidence(client, from.memberPubkey);
  const requester = vouchedMembers(session.id.meshId, session.id.ownerPubkey, members, removals, counts).vouched.get(from.memberPubkey);
  if (!requester || requester.pubkey === session.id.ownerPubkey) return null;
  session.trust([requester.pubkey]);
  const retry = send.clientMessageId ? { clientMessageId: send.clientMessageId } : {};
  return (await session.send(client, requester.pubkey, send.body ?? keysBody(session.meshKeys), { kind: "keys", priority: "now", ...retry })).createdAt;
}
