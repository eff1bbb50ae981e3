// Session identities of Claude Code sessions: one ed25519 key per (mesh, Claude session id),
// persisted (0600) so that `claude --resume` keeps the same peer and mailbox. The member key
// vouches for it with an attestation at every connect.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { generateSigningKeypair, type SigningKeypair } from "../../crypto/sign.ts";
import { PUBKEY_RE, SECRET_KEY_RE } from "../../crypto/fields.ts";
import { readPrivateFile, writePrivateFile } from "./files.ts";

export type SessionKey = SigningKeypair & { claudeSessionId: string; createdAt: number };

const meshDir = (dir: string, meshId: string) => join(dir, "sessions", meshId);
/** File name from the session id, so no id can escape the directory. */
const fileOf = (dir: string, meshId: string, claudeSessionId: string) => join(meshDir(dir, meshId), `${createHash("sha256").update(claudeSessionId).digest("hex").slice(0, 32)}.json`);

/** Deletes every session key of this mesh (after leaving it they vouch for nothing). */
export function removeSessionKeys(dir: string, meshId: string): void {
  rmSync(meshDir(dir, meshId), { recursive: true, force: true });
}

/** The session's key: the saved one, or a new one that `save()` writes and `remove` (null for a
 *  saved one) deletes again. A server that never
 *  connects (a health check) never saves it, so no file is left behind; one that connects saves it
 *  before its first hello, so a restart resumes the same peer. */
export function sessionKey(dir: string, meshId: string, claudeSessionId: string): { key: SessionKey; save(): void; remove: (() => void) | null } {
  const path = fileOf(dir, meshId, claudeSessionId);
  const fresh = (): SessionKey => ({ ...generateSigningKeypair(), claudeSessionId, createdAt: Date.now() });
  let text: string | null;
  try {
    text = readPrivateFile(path);
  } catch (err) {
    // A saved key that cannot be read (a file where the sessions directory should be, a file
    // others can read) cannot be replaced either: the session would come back as another peer.
    // Its save fails with the reason, which closes this mesh only, as when saving a new key fails.
    return { key: fresh(), save: () => { throw err; }, remove: null };
  }
  if (text) {
    const k = parseKey(text);
    if (k && PUBKEY_RE.test(k.publicKey) && SECRET_KEY_RE.test(k.secretKey)) return { key: k, save: () => {}, remove: null };
  }
  const key = fresh();
  return { key, save: () => writePrivateFile(path, JSON.stringify(key)), remove: () => rmSync(path, { force: true }) };
}

/** A saved key's JSON, or null when the file holds something else (a damaged file is replaced by
 *  a new key, as one with invalid fields always was). */
function parseKey(text: string): SessionKey | null {
  try {
    const v = JSON.parse(text) as SessionKey | null;
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
}
