// Session identities of Claude Code sessions: one ed25519 key per (mesh, Claude session id),
// persisted (0600) so that `claude --resume` keeps the same peer and mailbox. The member key
// vouches for it with an attestation at every connect.
//
// Kept while the session may be resumed: each running server marks its key as used (touch) at
// every connect, once a day, and at exit, and pruneSessions deletes the key and replay file of a
// session unused for SESSION_KEEP_MS. SessionEnd deletes nothing: `claude --resume` may follow.
import { readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { generateSigningKeypair, type SigningKeypair } from "../../crypto/sign.ts";
import { PUBKEY_RE, SECRET_KEY_RE } from "../../crypto/fields.ts";
import { readPrivateFile, writePrivateFile } from "./files.ts";
import { seenPath } from "./replay-memory.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** The broker's default messageTtl (docs/protocol.md): it routes to a session seen within that
 *  long, and what it queued then waits that long again before it expires. */
const BROKER_MESSAGE_TTL_MS = 7 * DAY_MS;
/** How often a running session marks its key and replay file as used (touch), besides connects. */
export const SESSION_TOUCH_MS = DAY_MS;
/** How long a session's key and replay file are kept after it was last used here (15 days): with
 *  the broker's default TTL, nothing can be queued for the key any more, so a `claude --resume`
 *  after that loses nothing by starting as a new peer. A broker configured with a longer TTL may
 *  still hold messages addressed to that session itself (docs/claude-code.md says so). */
export const SESSION_KEEP_MS = 2 * BROKER_MESSAGE_TTL_MS + SESSION_TOUCH_MS;

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
export function sessionKey(dir: string, meshId: string, claudeSessionId: string): { key: SessionKey; save(): void; remove: (() => void) | null; touch(): void } {
  const path = fileOf(dir, meshId, claudeSessionId);
  const touch = () => touchFile(path);
  const fresh = (): SessionKey => ({ ...generateSigningKeypair(), claudeSessionId, createdAt: Date.now() });
  let text: string | null;
  try {
    text = readPrivateFile(path);
  } catch (err) {
    // A saved key that cannot be read (a file where the sessions directory should be, a file
    // others can read) cannot be replaced either: the session would come back as another peer.
    // Its save fails with the reason, which closes this mesh only, as when saving a new key fails.
    return { key: fresh(), save: () => { throw err; }, remove: null, touch };
  }
  if (text) {
    const k = parseKey(text);
    if (k && PUBKEY_RE.test(k.publicKey) && SECRET_KEY_RE.test(k.secretKey)) return { key: k, save: () => {}, remove: null, touch };
  }
  const key = fresh();
  return { key, save: () => writePrivateFile(path, JSON.stringify(key)), remove: () => rmSync(path, { force: true }), touch };
}

/** Sets the file's time to now (nothing when it is missing). */
function touchFile(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // Not saved yet, or gone.
  }
}

/** Deletes the key and replay file of every session of `meshId` last used (the newer of the two
 *  files' times, both set by touch) before `now - SESSION_KEEP_MS`, but the one whose key begins
 *  `keep` (the session starting now). Its pairs are in the machine's memory already. A file that
 *  cannot be read or removed is left. Reads only the keys it may delete: the rest are stat()ed. */
export function pruneSessions(dir: string, meshId: string, keep: string, now = Date.now()): void {
  const before = now - SESSION_KEEP_MS;
  const old = (path: string) => (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -Infinity) < before;
  for (const name of listing(meshDir(dir, meshId))) {
    const path = join(meshDir(dir, meshId), name);
    try {
      if (!name.endsWith(".json") || !old(path)) continue;
      const scope = parseKey(readPrivateFile(path) ?? "")?.publicKey?.slice(0, 16);
      if (scope === keep || (scope && !old(seenPath(dir, meshId, scope)))) continue;
      if (scope) rmSync(seenPath(dir, meshId, scope), { force: true });
      rmSync(path, { force: true });
    } catch {
      // Others may read it, or it went meanwhile: left as it is.
    }
  }
  // A session's replay file is never older than its key (both are touched together, and the file
  // is also written on its own): one this old has no key kept above.
  for (const name of listing(join(dir, "seen"))) {
    const scope = name.startsWith(`${meshId}.`) && name.endsWith(".json") ? name.slice(meshId.length + 1, -".json".length) : "";
    const path = join(dir, "seen", name);
    try {
      if (/^[0-9a-f]{16}$/.test(scope) && scope !== keep && old(path)) rmSync(path, { force: true });
    } catch {
      // As above.
    }
  }
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
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
