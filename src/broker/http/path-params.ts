// Path parameters, checked before a route does anything with them. A segment of the wrong shape
// is bad input (400 invalid_argument, as a body that fails its schema), never an unknown thing
// (404): the caller has a typo or a cut URL to fix, not an invite to ask for again.
import { MeshError } from "../../protocol/errors.ts";
import { ID_RE } from "../../crypto/fields.ts";

/** What an invite id looks like, for the refusal (the `Id` of docs/protocol.md §1). */
export const INVITE_ID_SHAPE = "an invite id is 8–64 characters of A-Z a-z 0-9 _ - (the `invite` field of the invite link)";

/** The `{inviteId}` segment, checked. Elysia hands over null for a segment that is not valid
 *  percent-encoding. Throws MeshError invalid_argument before anything is read or written; the
 *  segment itself is not echoed (it may be thousands of characters). */
export function inviteIdParam(segment: string | null | undefined): string {
  if (typeof segment !== "string" || !ID_RE.test(segment)) {
    throw new MeshError("invalid_argument", `The path does not name an invite id: ${INVITE_ID_SHAPE}. Check the URL, or copy the invite link again.`);
  }
  return segment;
}
