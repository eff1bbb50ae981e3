// Key requests: a member without the mesh's current keys (it joined with an invite made before a
// rotation) asks the owner, and the owner answers only a member whose enrolment it can check.
import type { Results } from "../protocol/results.ts";
import type { BrokerClient } from "./client.ts";
import { vouchedMembers, type Removals } from "./admission.ts";
import { memberEvidence } from "./lookups.ts";
import { keysBody } from "./invite-build.ts";
import type { Delivered, MeshSession } from "./mesh-session.ts";

export const KEY_REQUEST = JSON.stringify({ request: "keys" });
export const isKeyRequest = (body: string) => body === KEY_REQUEST;

/** Asks the owner for the current mesh keys (after joining with an invite made before a rotation). */
export function requestKeys(session: MeshSession, client: BrokerClient): Promise<Results["send"]> {
  return session.send(client, session.id.ownerPubkey, KEY_REQUEST, { kind: "system", priority: "now" });
}

/** The owner's answer to a key request: sends every epoch's key, but only to an active member
 *  whose enrolment the owner can check itself (admission.ts): the request and the member list
 *  both come through the broker, which must not be able to ask for the keys on a key of its own. */
export async function answerKeyRequest(session: MeshSession, client: BrokerClient, from: Delivered["from"], removals?: Removals): Promise<boolean> {
  if (session.id.publicKey !== session.id.ownerPubkey && session.id.memberPubkey !== session.id.ownerPubkey) return false;
  // The requester's rows (member_lookup), as a send vouches for its recipient; the whole list from
  // a broker without it.
  const { members, counts } = await memberEvidence(client, from.memberPubkey);
  const requester = vouchedMembers(session.id.meshId, session.id.ownerPubkey, members, removals, counts).vouched.get(from.memberPubkey);
  if (!requester || requester.pubkey === session.id.ownerPubkey) return false;
  session.trust([requester.pubkey]);
  await session.send(client, requester.pubkey, keysBody(session.meshKeys), { kind: "keys", priority: "now" });
  return true;
}
