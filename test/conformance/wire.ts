// An independent claudemesh client written from docs/protocol.md alone (no imports from src/), in
// three files: this one (encodings, keys, canonical strings, canonical JSON and the audit chain),
// transport.ts (HTTP and the WebSocket) and envelopes.ts (end-to-end encryption, invites, keys).
// Section numbers in comments refer to that document. Crypto: libsodium-wrappers (a package.json
// dependency) for ed25519 / crypto_box / BLAKE2b / XChaCha20-Poly1305, node:crypto for SHA-256
// and Argon2id.
import { createHash } from "node:crypto";
import sodium from "libsodium-wrappers";

await sodium.ready;
export { sodium };

// ---------------------------------------------------------------- encodings (§1.3)

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
/** Standard base64 with padding (RFC 4648 §4). A 24-byte nonce has no padding: 32 characters. */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));
export const unb64url = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64url"));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const sha256hex = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");
export const randomId = (prefix = "id"): string => `${prefix}_${hex(sodium.randombytes_buf(9))}`;

// ---------------------------------------------------------------- keys (§1.4, §12.1)

export type Key = { seed: Uint8Array; publicKey: Uint8Array; secretKey: Uint8Array; pub: string };

export function keyFromSeed(seed: Uint8Array): Key {
  const kp = sodium.crypto_sign_seed_keypair(seed);
  return { seed, publicKey: kp.publicKey, secretKey: kp.privateKey, pub: hex(kp.publicKey) };
}
export const newKey = (): Key => keyFromSeed(sodium.randombytes_buf(32));

/** ed25519 detached signature over the UTF-8 bytes of `text`, 128 lowercase hex (§3). */
export const sign = (text: string, key: Key): string => hex(sodium.crypto_sign_detached(utf8(text), key.secretKey));
export function verify(text: string, sigHex: string, pubHex: string): boolean {
  try {
    return sodium.crypto_sign_verify_detached(unhex(sigHex), utf8(text), unhex(pubHex));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- canonical strings (§3)

export const helloCanonical = (meshId: string, memberId: string, pubkey: string, timestamp: number) =>
  `${meshId}|${memberId}|${pubkey}|${timestamp}`;
export const attestationCanonical = (parentMemberPubkey: string, sessionPubkey: string, expiresAt: number) =>
  `claudemesh-session-attest|${parentMemberPubkey}|${sessionPubkey}|${expiresAt}`;
export const sessionHelloCanonical = (meshId: string, parentMemberPubkey: string, sessionPubkey: string, timestamp: number) =>
  `claudemesh-session-hello|${meshId}|${parentMemberPubkey}|${sessionPubkey}|${timestamp}`;
export const inviteV2Canonical = (meshId: string, inviteId: string, expiresAtS: number, role: string, issuerPubkey: string) =>
  `v=2|${meshId}|${inviteId}|${expiresAtS}|${role}|${issuerPubkey}`;
export const inviteKeyCanonical = (meshId: string, inviteId: string, invitePubkey: string, maxUses: number) =>
  `claudemesh-invite-key-v2|${meshId}|${inviteId}|${invitePubkey}|${maxUses}`;
export const inviteKeyCanonicalV1 = (meshId: string, inviteId: string, invitePubkey: string) =>
  `claudemesh-invite-key|${meshId}|${inviteId}|${invitePubkey}`;
export const inviteClaimCanonical = (inviteId: string, joinerPubkey: string, timestamp: number) =>
  `claudemesh-invite-claim|${inviteId}|${joinerPubkey}|${timestamp}`;
export const requestCanonical = (method: string, path: string, timestamp: number, bodySha256: string) =>
  `claudemesh-request|${method}|${path}|${timestamp}|${bodySha256}`;
export const dashboardLoginCanonical = (meshId: string, memberId: string, nonce: string, expiresAt: number) =>
  `claudemesh-dashboard-login|${meshId}|${memberId}|${nonce}|${expiresAt}`;

/**
 * A fresh millisecond timestamp for one key: never the same twice for a key, because two
 * signatures over the same canonical string are the same bytes and the second is `replayed` (§2.5, §10).
 */
const lastTs = new Map<string, number>();
export function freshTs(pub: string): number {
  let t = Date.now();
  const last = lastTs.get(pub) ?? 0;
  if (t <= last) t = last + 1;
  lastTs.set(pub, t);
  return t;
}

export type Attestation = { sessionPubkey: string; parentMemberPubkey: string; expiresAt: number; signature: string };
export function makeAttestation(parent: Key, session: Key, expiresAt = Date.now() + 12 * 3600_000): Attestation {
  return {
    sessionPubkey: session.pub,
    parentMemberPubkey: parent.pub,
    expiresAt,
    signature: sign(attestationCanonical(parent.pub, session.pub, expiresAt), parent),
  };
}

// ---------------------------------------------------------------- canonical JSON and audit (§9)

export function canonicalJson(v: unknown, depth = 0): string {
  if (depth > 64) throw new Error("canonicalJson: too deep");
  if (v === null || v === true || v === false) return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error("canonicalJson: non-finite number");
    return JSON.stringify(v); // -0 → "0", 1e21 → "1e+21"
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(",")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort(); // default sort = UTF-16 code units
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], depth + 1)}`).join(",")}}`;
  }
  throw new Error(`canonicalJson: refused ${typeof v}`);
}

export type AuditEntry = {
  seq: number;
  meshId: string;
  eventType: string;
  actor: string | null;
  payload: unknown;
  createdAt: string;
  prevHash: string;
  hash: string;
};
export const auditLine = (e: Pick<AuditEntry, "prevHash" | "meshId" | "eventType" | "actor" | "payload" | "createdAt">) =>
  `${e.prevHash}|${e.meshId}|${e.eventType}|${e.actor ?? "null"}|${canonicalJson(e.payload)}|${e.createdAt}`;
export const auditHash = (e: Parameters<typeof auditLine>[0]) => sha256hex(auditLine(e));

export function verifyChain(entries: AuditEntry[]) {
  let prev = "genesis";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let ok = e.seq === i + 1 && e.prevHash === prev;
    if (ok) {
      try {
        ok = auditHash(e) === e.hash;
      } catch {
        ok = false;
      }
    }
    if (!ok) return { valid: false, entries: entries.length, head: prev, brokenAt: e.seq };
    prev = e.hash;
  }
  return { valid: true, entries: entries.length, head: prev, brokenAt: null };
}

// ---------------------------------------------------------------- name skeletons (§4.2.1)

const lookAlikes = (name: string): Record<string, string> => {
  const table = DOC_LOOK_ALIKES[name]!;
  return Object.fromEntries(table.split(" ").map((m) => { const [cp, to] = m.split("→"); return [String.fromCodePoint(parseInt(cp!.slice(2), 16)), to!]; }));
};
/** The four rows of §4.2.1's look-alikes table (name rule 2), as the document writes them. */
const DOC_LOOK_ALIKES: Record<string, string> = {
  first: "U+03F2→c U+03F9→C",
  capitals: "U+0391→A U+0392→B U+0395→E U+0396→Z U+0397→H U+0399→I U+039A→K U+039C→M U+039D→N U+039F→O U+03A1→P U+03A4→T U+03A5→Y U+03A7→X U+0410→A U+0412→B U+0415→E U+041A→K U+041C→M U+041D→H U+041E→O U+0420→P U+0421→C U+0422→T U+0423→Y U+0425→X U+0405→S U+0406→I U+0408→J U+04C0→I U+054F→S U+053C→L",
  small: "U+0430→a U+0435→e U+043E→o U+0440→p U+0441→c U+0443→y U+0445→x U+0455→s U+0456→i U+0458→j U+04BB→h U+0501→d U+051B→q U+051D→w U+04CF→l U+04AF→y U+0475→v U+03B1→a U+03BF→o U+03BD→v U+03C1→p U+03B9→i U+03BA→k U+03C5→u U+03C7→x U+03F3→j U+0585→o U+057D→u U+0581→g U+0570→h U+0578→n U+0566→q U+AB70→d U+AB71→r U+AB72→t U+AB75→i U+AB79→y U+AB7A→a U+AB7B→j U+AB7C→e U+AB83→w U+AB87→m U+AB8B→h U+AB8D→y U+AB90→g U+AB92→h U+AB93→z U+AB9F→b U+ABA2→r U+ABA4→w U+ABA5→s U+ABA9→v U+ABAA→s U+ABAE→l U+ABAF→c U+ABB2→p U+ABB6→k U+ABB7→d U+13FC→b U+0261→g U+0131→i U+0237→j U+0251→a U+0269→i U+1D04→c U+1D0F→o U+1D20→v U+1D21→w U+1D22→z U+A731→s U+01C0→l U+01C3→! U+00A1→i",
  ascii: "U+0030→o U+0031→l U+0035→s U+0038→b U+0069→l U+007C→l U+0021→l U+006D→rn U+0077→vv U+0064→cl",
};
const FIRST = lookAlikes("first");
const CAPITALS = lookAlikes("capitals");
const SMALL = lookAlikes("small");
const ASCII = lookAlikes("ascii");
/** §4.2.1 steps 1–5 (the letter skeleton and the skeleton share them): the first row, NFKD;
 *  escape sequences whole, then the invisible characters; capitals; case folding; NFKD, small
 *  letters, and a combining dot above after i or j. */
function letters(s: string): string {
  let t = [...s].map((c) => FIRST[c] ?? c).join("").normalize("NFKD");
  t = t.replace(/\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\x40-\x5f]/g, "");
  t = t.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\p{Default_Ignorable_Code_Point}/gu, "");
  t = [...t].map((c) => CAPITALS[c] ?? c).join("").toUpperCase().toLowerCase();
  t = [...t.normalize("NFKD")].map((c) => SMALL[c] ?? c).join("");
  return t.replace(/([ij])\u0307/g, "$1");
}
/** Step 7: NFC and white space. */
const finish = (t: string) => t.normalize("NFC").replace(/\s+/g, " ").trim();
/** The letter skeleton: §4.2.1 without step 6. */
export const letterSkeleton = (s: string): string => finish(letters(s));
/** The skeleton: steps 1–7, step 6 writing the ASCII row's characters as their letters. */
export const nameSkeleton = (s: string): string => finish([...letters(s)].map((c) => ASCII[c] ?? c).join(""));
