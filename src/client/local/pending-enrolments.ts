// The key (and, for a new mesh, the mesh id) that `join` or `new` enrolls, saved (0600) before the
// request goes out and removed once the mesh is in the config. A request whose answer is lost (a
// dropped connection, a Ctrl-C while it is under way) may still have taken effect: the invite was
// used, or the mesh and its slug exist. The broker answers the same key asking again with what it
// did the first time, so a retried command sends that key, not a new one the broker would refuse.
// A request that never left (no connection was made) is forgotten like a refusal, unless an
// earlier attempt saved the key: that one may have reached the broker.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { randomId } from "../../crypto/hash.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../crypto/sign.ts";
import { ID_RE, PUBKEY_RE, SECRET_KEY_RE } from "../../crypto/fields.ts";
import { MeshError } from "../../protocol/errors.ts";
import { NotSentError } from "../broker-trouble.ts";
import { LocalFileError, moveAsideFix, readPrivateJson, writePrivateFile } from "./files.ts";

/** `fresh`: made by this run, so no earlier attempt can have sent the key. */
export type Enrolment = { keys: SigningKeypair; meshId: string; fresh: boolean };

/** File name from the request's identity, so no input can escape the directory. */
const fileOf = (dir: string, request: string) => join(dir, "pending", `${createHash("sha256").update(request).digest("hex").slice(0, 32)}.json`);

/** The key and mesh id for `request` ("join <invite id>", "new <broker> <slug>"): those an earlier
 *  attempt saved, or new ones, saved now. */
export function pendingEnrolment(dir: string, request: string): Enrolment {
  const path = fileOf(dir, request);
  const read = readPrivateJson(path, { what: "the key saved for an unanswered request", damaged: (problem) => new LocalFileError(`The key saved for an unanswered request, ${path}, ${problem}.`, moveAsideFix(path)) });
  const e = (read?.value ?? {}) as { publicKey: string; secretKey: string; meshId: string };
  if (PUBKEY_RE.test(e.publicKey) && SECRET_KEY_RE.test(e.secretKey) && ID_RE.test(e.meshId)) return { keys: { publicKey: e.publicKey, secretKey: e.secretKey }, meshId: e.meshId, fresh: false };
  const enrolment = { keys: generateSigningKeypair(), meshId: randomId(), fresh: true };
  writePrivateFile(path, JSON.stringify({ ...enrolment.keys, meshId: enrolment.meshId }));
  return enrolment;
}

/** Forgets them once the mesh entry holding the key is saved, or the request was refused. */
export function forgetEnrolment(dir: string, request: string): void {
  rmSync(fileOf(dir, request), { force: true });
}

/** Errors that are no answer (the request may have been carried out): the enrolment is kept. */
const NO_ANSWER = new Set(["unavailable", "timeout", "internal"]);

/** What to throw after `request`, sent with `enrolment`, failed with `err`.
 *  - No answer (NO_ANSWER, but not a request that never left): it may have been carried out, so
 *    the enrolment is kept and the error says to run the same command again.
 *  - This attempt changed nothing (it never left, or the broker refused it for now: rate_limited
 *    and the like), but an earlier attempt saved the key and may have been carried out: kept, and
 *    the error says to run the command again later.
 *  - Otherwise (a refusal, or nothing ever sent with this key) the enrolment is forgotten. A
 *    carried-out enrolment asked again gets its answer, never a refusal, so a refusal is final. */
export function afterFailure(dir: string, request: string, enrolment: Enrolment, err: unknown): unknown {
  if (!(err instanceof MeshError)) return err;
  const notSent = err instanceof NotSentError;
  if (!notSent && NO_ANSWER.has(err.code)) {
    return new MeshError(err.code, `${err.message} It may have been carried out all the same: run the same command again, which sends the same key and gets that answer.`, { cause: err });
  }
  if (!enrolment.fresh && (notSent || err.retryable)) {
    const when = notSent ? "once the broker is reachable" : "in a while";
    return new MeshError(err.code, `${err.message} An earlier attempt of this command may have been carried out: ${when}, run the same command again, which sends the same key and gets that answer.`, { cause: err });
  }
  forgetEnrolment(dir, request);
  return err;
}
