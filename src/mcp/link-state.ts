// Whether a mesh link can be used now, as the tools ask it: connected, reconnecting, or closed for
// good and why. A tool waits for a mesh's first connect, never for a reconnect.
import { MeshError } from "../protocol/errors.ts";
import type { MeshLink } from "./mesh-link.ts";
import { refusalFix } from "../client/refusal-fix.ts";
import { mayHaveMoved, movedFix } from "../client/move-hint.ts";
import { UnusableUrlError } from "../client/broker-trouble.ts";
import { savedUrlFix, savedUrlProblem } from "../client/saved-url.ts";

/** Longest a tool call waits for a mesh's first connect (under way, or started by that very call
 *  on a server that defers it) before it reports the mesh's state. Only the first attempt is
 *  waited for: a mesh that is reconnecting is reported at once. */
export const FIRST_CONNECT_WAIT_MS = 5000;

/** Resolves when `link` is connected, after waiting for its first connect if that is still to come
 *  (FIRST_CONNECT_WAIT_MS); otherwise throws `unavailable` naming the state, which the tools
 *  return as their error. */
export async function whenOpen(link: MeshLink): Promise<void> {
  await link.firstAttempt(FIRST_CONNECT_WAIT_MS);
  const problem = notOpen(link);
  if (problem) throw problem;
}

/** Why `link` cannot be used now, without waiting (null when it is connected): why it closed for
 *  good, or `unavailable` naming its state while it reconnects. */
export function notOpen(link: Pick<MeshLink, "closedFor" | "state" | "label" | "lastFailure" | "slug">): MeshError | null {
  if (link.closedFor) return link.closedFor;
  // Why the last attempt failed, when a socket never opened (a refused certificate): without it a
  // tool said "try again shortly" for ever, and the session never learnt what to fix.
  const last = link.lastFailure ? ` Its last attempt: ${failureText(link.lastFailure, link.slug)}` : "";
  if (link.state === "connecting") return new MeshError("unavailable", `Not connected to mesh ${link.label} yet: its first connection is still under way (a slow link can take several seconds). Try again shortly.${last}`);
  if (link.state !== "open") return new MeshError("unavailable", `Not connected to mesh ${link.label} right now (${link.state}); it reconnects by itself. Try again shortly.${last}`);
  return null;
}

/** What a link does once its fix is made. */
const NEXT_ATTEMPT = "it connects by itself at its next attempt";

/** What a link keeps retrying after, for why it cannot connect: the broker's or the socket's
 *  words, and the fix when the refusal has a known one (a clock skew: which clock is ahead), or,
 *  when nothing usable answered at the URL, how to give the broker's new one if it moved (`slug`:
 *  the mesh's, for the command's --mesh; the session reads the new URL at its next attempt). A
 *  saved URL that is no broker URL is said as that, as the CLI says it. */
export function failureText(failure: MeshError, slug?: string): string {
  if (failure instanceof UnusableUrlError && slug !== undefined) return `${savedUrlProblem(slug, failure.why)} Fix: ${savedUrlFix(` --mesh ${slug}`)}; ${NEXT_ATTEMPT}, without a restart.`;
  const moved = slug !== undefined && mayHaveMoved(failure) ? movedFix(` --mesh ${slug}`, `${NEXT_ATTEMPT}, without a restart`) : null;
  const fix = refusalFix(failure, NEXT_ATTEMPT) ?? moved;
  return fix ? `${failure.message} Fix: ${fix}.` : failure.message;
}
