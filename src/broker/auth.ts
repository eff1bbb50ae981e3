// Hello verification, in the seeds' order (DESIGN.md §3): timestamp skew → key/signature shape →
// signature → active membership. Then the replay check: a signature is accepted once, so a
// captured hello is useless even inside the skew window. Each failure throws MeshError whose
// code becomes the 1008 close reason. The skew window and the replay rule are exported: signed
// HTTP requests and invite claims pass the very same ones (DESIGN.md §2).
import { helloCanonical, sessionHelloCanonical, attestationCanonical } from "../protocol/canonical.ts";
import { MeshError } from "../protocol/errors.ts";
import type { HelloFrame, SessionHelloFrame, AttestationFields } from "../protocol/frames.ts";
import { HELLO_SKEW_MS, MAX_ATTESTATION_TTL_MS, PROTOCOL_VERSION } from "../protocol/limits.ts";
import { namesMember, sessionNamePart } from "../protocol/names.ts";
import { isPubkeyHex, isSignatureHex, verifyDetached } from "../crypto/sign.ts";
import type { Store, Member } from "../store/types.ts";
import { memberIdentity, type Identity } from "./conn.ts";

/** A client that speaks a newer protocol than this broker is refused before anything else. */
export function checkVersion(f: { protocolVersion?: number }): void {
  const refusal = versionRefusal(f.protocolVersion);
  if (refusal) throw refusal;
}

/** The refusal of a hello that speaks a newer protocol than this broker, or null. */
export function versionRefusal(protocolVersion: number | undefined): MeshError | null {
  if (protocolVersion === undefined || protocolVersion <= PROTOCOL_VERSION) return null;
  return new MeshError("unsupported_version", `This broker speaks protocol version ${PROTOCOL_VERSION}; the client sent ${protocolVersion}.`);
}

/** Throws timestamp_skew unless `timestamp` (ms) is within ±HELLO_SKEW_MS of `now`. Every signed
 *  thing a key presents (hello, HTTP request, invite claim) passes this one window; `subject`
 *  names it in the message ("Hello", "Request"). */
export function checkSkew(timestamp: number, now: number, subject: string): void {
  if (Math.abs(now - timestamp) > HELLO_SKEW_MS) throw new MeshError("timestamp_skew", `${subject} timestamp is ${Math.round((timestamp - now) / 1000)} s from the broker clock (limit ±60 s).`);
}

async function activeMember(store: Store, meshId: string, pubkey: string, memberId: string): Promise<Member> {
  const member = await store.getMemberByPubkey(meshId, pubkey);
  if (!member || member.id !== memberId) throw new MeshError("unauthorized", "This key is not a member of that mesh.");
  if (member.revokedAt !== null) throw new MeshError("revoked", member.banned ? "This member was banned from the mesh; its key can never connect again." : "This member left or was removed from the mesh; its key can never connect again. Ask an owner or admin for a new invite.");
  return member;
}

/** Accepts a signature over `timestamp` once: records it, or throws replayed if it was recorded
 *  before, timestamp_skew if the broker may have recorded and since forgotten it (its clock was
 *  set back past the time: protocol.md §8.3), or unavailable if it may have accepted it before a
 *  restore that could not carry the replaced database's replay memory (§2.5: for a minute after
 *  such a restore). Call it last, after every other check passed, so a refused attempt records
 *  nothing. `subject` names what was signed in the message ("hello", "request"). */
export async function consumeSignature(store: Store, signature: string, timestamp: number, subject: string): Promise<void> {
  // Kept until the signature could no longer pass checkSkew anyway; it passes it from
  // timestamp - HELLO_SKEW_MS on.
  const use = await store.rememberSignature(signature, timestamp + HELLO_SKEW_MS + 1000, timestamp - HELLO_SKEW_MS);
  if (use === "replayed") throw new MeshError("replayed", `This ${subject} was already used; sign a fresh one.`);
  if (use === "forgotten") throw new MeshError("timestamp_skew", `This ${subject}'s timestamp is one the broker clock has already passed (the clock was set back since), so it cannot be told from a replay. Sign a fresh one once the broker clock is past it again.`);
  if (use === "before_restore") throw new MeshError("unavailable", `The broker's database was restored from a backup without the replay memory of the one it replaced, so it cannot tell this ${subject} from a replay of one accepted before the restore. Sign a fresh one; it is accepted from a minute after the restore on.`);
}

/** Verifies a member hello; returns the connection identity. */
export async function authenticateHello(store: Store, f: HelloFrame, now: number): Promise<Identity> {
  checkVersion(f);
  checkSkew(f.timestamp, now, "Hello");
  if (!isPubkeyHex(f.pubkey) || !isSignatureHex(f.signature)) throw new MeshError("malformed", "pubkey must be 64 lowercase hex and signature 128 lowercase hex.");
  if (!verifyDetached(f.signature, helloCanonical(f.meshId, f.memberId, f.pubkey, f.timestamp), f.pubkey)) throw new MeshError("bad_signature");
  const member = await activeMember(store, f.meshId, f.pubkey, f.memberId);
  await consumeSignature(store, f.signature, f.timestamp, "hello");
  return memberIdentity(member);
}

/** Checks an attestation of `sessionPubkey` by `parentPubkey`. Pure; used at hello and on refresh. */
export function checkAttestation(a: AttestationFields, parentPubkey: string, sessionPubkey: string, now: number): void {
  if (a.sessionPubkey !== sessionPubkey || a.parentMemberPubkey !== parentPubkey) throw new MeshError("bad_attestation", "The attestation names another session or parent key.");
  if (a.expiresAt <= now) throw new MeshError("expired");
  if (a.expiresAt > now + MAX_ATTESTATION_TTL_MS) throw new MeshError("ttl_too_long");
  if (!verifyDetached(a.signature, attestationCanonical(parentPubkey, sessionPubkey, a.expiresAt), parentPubkey)) throw new MeshError("bad_attestation");
}

/** A session key is never a member key of the mesh, current or removed (a banned member's key
 *  must not come back as another member's session), and it belongs to one member for good. */
async function checkSessionKeyFree(store: Store, meshId: string, sessionPubkey: string, memberId: string): Promise<void> {
  if (await store.getMemberByPubkey(meshId, sessionPubkey)) throw new MeshError("unauthorized", "That key is, or was, a member key of this mesh; a session needs a key of its own.");
  const session = await store.getSession(meshId, sessionPubkey);
  if (session && session.memberId !== memberId) throw new MeshError("unauthorized", "That session key belongs to another member of this mesh.");
}

/** Verifies a session hello and its attestation; returns the connection identity. */
export async function authenticateSessionHello(store: Store, f: SessionHelloFrame, now: number): Promise<Identity> {
  checkVersion(f);
  checkSkew(f.timestamp, now, "Hello");
  if (!isPubkeyHex(f.parentMemberPubkey) || !isPubkeyHex(f.sessionPubkey) || !isSignatureHex(f.signature)) {
    throw new MeshError("malformed", "Keys must be 64 lowercase hex and the signature 128 lowercase hex.");
  }
  checkAttestation(f.attestation, f.parentMemberPubkey, f.sessionPubkey, now);
  if (!verifyDetached(f.signature, sessionHelloCanonical(f.meshId, f.parentMemberPubkey, f.sessionPubkey, f.timestamp), f.sessionPubkey)) {
    throw new MeshError("bad_signature");
  }
  const member = await activeMember(store, f.meshId, f.parentMemberPubkey, f.parentMemberId);
  if (f.sessionPubkey === member.pubkey) throw new MeshError("malformed", "A session key must differ from its member key.");
  await checkSessionKeyFree(store, f.meshId, f.sessionPubkey, member.id);
  await consumeSignature(store, f.signature, f.timestamp, "hello");
  // A name of its own choice names its member (the default below does by construction): otherwise
  // mallory's session could be "alice/api", take what is sent to that name and send as it.
  if (f.displayName !== undefined && !namesMember(f.displayName, member.displayName)) {
    throw new MeshError("malformed", `The session's name must start with its member's name and "/" (here: ${sessionNamePart(member.displayName)}/…): a session cannot be named for another member.`);
  }
  const label = f.displayName ?? `${member.displayName}/${f.cwd.split(/[\\/]/).filter(Boolean).pop() ?? f.sessionId.slice(0, 8)}`;
  return {
    meshId: f.meshId,
    memberId: member.id,
    memberPubkey: member.pubkey,
    role: member.role,
    kind: "session",
    pubkey: f.sessionPubkey,
    displayName: label,
    attestation: f.attestation,
  };
}
