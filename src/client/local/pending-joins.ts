// The key a `join` enrolls, saved (0600) before the claim goes out and removed once the joined
// mesh is in the config. A claim whose answer is lost (a dropped connection, a Ctrl-C while it is
// under way) still used the invite; the broker gives the enrolment back to the same key claiming
// again, so a retried `join` sends that key, not a new one the invite has no use left for.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { generateSigningKeypair, type SigningKeypair } from "../../crypto/sign.ts";
import { PUBKEY_RE, SECRET_KEY_RE } from "../../crypto/fields.ts";
import { readPrivateFile, writePrivateFile } from "./files.ts";

/** File name from the invite id, so no id can escape the directory. */
const fileOf = (dir: string, inviteId: string) => join(dir, "pending-joins", `${createHash("sha256").update(inviteId).digest("hex").slice(0, 32)}.json`);

/** The key to claim `inviteId` with: the one an earlier attempt saved, or a new one, saved now. */
export function joinKey(dir: string, inviteId: string): SigningKeypair {
  const path = fileOf(dir, inviteId);
  const text = readPrivateFile(path);
  if (text) {
    const k = JSON.parse(text) as SigningKeypair;
    if (PUBKEY_RE.test(k.publicKey) && SECRET_KEY_RE.test(k.secretKey)) return { publicKey: k.publicKey, secretKey: k.secretKey };
  }
  const keys = generateSigningKeypair();
  writePrivateFile(path, JSON.stringify(keys));
  return keys;
}

/** Forgets the key once the mesh entry holding it is saved, or the invite is of no use. */
export function forgetJoinKey(dir: string, inviteId: string): void {
  rmSync(fileOf(dir, inviteId), { force: true });
}
