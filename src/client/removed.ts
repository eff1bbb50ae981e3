// What a member whose key was removed from a mesh is told, by the CLI and by the MCP tools. A
// connection open when the owner or an admin acted is closed with 4001 kicked or 4002 banned, which
// say which; a later hello of the key is refused with `revoked`, whose error frame says in words
// whether it was a ban (docs/protocol.md §2.3), quoted rather than parsed. Either way the key never
// connects again, and joining again needs a new invite after `leave` has forgotten the mesh here.
import { CloseCode } from "../protocol/close-codes.ts";
import { MeshError } from "../protocol/errors.ts";

const forget = (slug: string) => `\`claudemesh leave ${slug} --yes\` forgets the mesh on this machine.`;

/** The error for a hello refused with `revoked` (exit 3, as the catalog maps it). */
export function refusedAsRemoved(slug: string, cause: unknown): MeshError {
  // The broker's error frame says whether it was a ban (BrokerClient keeps it as the cause).
  const said = cause instanceof MeshError && cause.cause instanceof MeshError ? ` The broker says: "${cause.cause.message}"` : "";
  return new MeshError(
    "revoked",
    `You were removed from the mesh "${slug}" (you left, or an owner or admin kicked or banned you), and this key can never connect to it again.${said} Only an owner or admin can let you back in, with a new invite. ${forget(slug)}`,
    { cause },
  );
}

/** The error for a connection the broker closed for good with `code`: kicked and banned say so,
 *  as `revoked` (callers record that in the config); left (the member's own `leave`, from another
 *  process) as `unauthorized`, since that `leave` is removing the mesh from the config itself and
 *  a record written meanwhile could put it back; a session another connection took over as
 *  `conflict`; any other terminal close says the code and reason. */
export function closedForGood(slug: string, code: number | undefined, reason: string | undefined): MeshError {
  if (code === CloseCode.left) return new MeshError("unauthorized", `You left the mesh "${slug}" (claudemesh leave, here or in another terminal); this key can never connect to it again. Only an owner or admin can let you back in, with a new invite.`);
  if (code === CloseCode.banned) return new MeshError("revoked", `You were banned from the mesh "${slug}" by an owner or admin; this key can never connect to it again. ${forget(slug)}`);
  if (code === CloseCode.kicked) return new MeshError("revoked", `You were removed from the mesh "${slug}" by an owner or admin; this key can never connect to it again. They can invite you back with a new invite. ${forget(slug)}`);
  if (reason === "revoked") return refusedAsRemoved(slug, null); // a hello of a key removed earlier
  // Not retryable, so nobody is told to wait for a reconnect that never comes (protocol §2.7).
  if (code === CloseCode.sessionReplaced) return new MeshError("conflict", `Another connection of this session took over on mesh "${slug}" (session_replaced): a newer claudemesh MCP server of the same Claude Code session (Claude Code started it again, or the session is open in a second window) now gets its messages, and this one stays disconnected. Use the newer one; /mcp in Claude Code reconnects this one (and disconnects the other).`);
  return new MeshError("unavailable", `The broker closed the connection for good (${code ?? "no code"}${reason ? ` ${reason}` : ""}).`);
}

/** Whether a connection closed for good with `code` and `reason` was closed because this key was
 *  removed (kicked, banned, or a hello of a key removed earlier refused): when closedForGood says
 *  `revoked`. */
export const closedAsRemoved = (code: number | undefined, reason: string | undefined): boolean => closedForGood("", code, reason).code === "revoked";

/** Whether a connection closed for good with `code` and `reason` means the member is out of the
 *  mesh for good: it left (its own `leave`, from another process), or was removed (closedAsRemoved). */
export const closedAsGone = (code: number | undefined, reason: string | undefined): boolean => code === CloseCode.left || closedAsRemoved(code, reason);
