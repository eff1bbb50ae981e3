// The mistakes a model makes with the sending tools, refused in words that say what to do: the
// same cases the CLI refuses (src/cli/commands/send.ts, src/cli/mesh-choice.ts), worded for a
// model that has no terminal and no join tool — what the user runs is named instead.
import { MeshError } from "../protocol/errors.ts";
import { resolveTarget } from "../client/resolve.ts";
import { Slug } from "../protocol/fields.ts";
import { quotedName, stripInvisible } from "../client/untrusted-text.ts";
import { refusedAsNotJoined } from "../client/not-joined.ts";
import type { PeerInfo } from "../protocol/results.ts";

/** Refuses a message of only whitespace (the CLI's "Nothing to send"), or of only characters that
 *  every reader's display removes (zero-width ones, escapes): it would reach them as an empty line. */
export function nonBlank(text: string): void {
  if (!stripInvisible(text).trim()) throw new MeshError("invalid_argument", "Nothing to send: the message is empty or only whitespace. Give the text to send.");
}

/** `err` (resolveTarget's "No peer matches" over the other peers) said again as "that is you"
 *  when `input` names this session itself, which mesh_peers lists as "(you)"; `err` otherwise. */
export function selfHint(err: unknown, input: string, peers: readonly PeerInfo[], me: string): unknown {
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient") return err;
  let mine: PeerInfo | null = null;
  try {
    mine = resolveTarget(input, peers).peer;
  } catch {
    return err;
  }
  if (mine?.pubkey !== me) return err;
  return new MeshError("invalid_argument", `That is you: ${quotedName(mine.displayName, 80)} is this session. Give another peer's name (mesh_peers lists them).`, { cause: err });
}

/** The broker's refusal of a post to a topic this member has not joined, with how to join: there
 *  is no tool for it, the user runs the CLI (`option`: the --mesh that makes it act on this mesh). */
export function joinHint(err: unknown, topic: string, option = ""): unknown {
  if (!refusedAsNotJoined(err, topic)) return err;
  return new MeshError("forbidden", `This member has not joined #${topic}, and no tool joins topics: ask the user to run \`claudemesh topic join ${topic}${option}\` in a terminal, then send again.`, { cause: err });
}

const SLUG_RE = new RegExp(Slug.pattern!);

/** `err` ("No peer matches") for a target whose "slug:" prefix names no mesh of this session, said
 *  again as the CLI says it (unknownMesh): the prefix is not a mesh you are in, and which are.
 *  `known`: what names a mesh of the session (slugs and ids); `named`: the meshes as the tools name
 *  them; `first`: the prefix of one, for the example. A name may hold ":", so this is said only
 *  once no peer matched. */
export function unknownMeshHint(err: unknown, target: string, known: readonly string[], named: readonly string[], first?: string): unknown {
  const i = target.indexOf(":");
  const prefix = i > 0 ? target.slice(0, i) : "";
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient" || !SLUG_RE.test(prefix) || known.includes(prefix)) return err;
  const example = first ? `, as in ${first}:${target.slice(i + 1)}` : "";
  return new MeshError("not_found", `No peer matches "${target}", and "${prefix}" is not a mesh this session is in (it is in: ${named.join(", ") || "none"}). The part before ":" names the mesh${example}.`, { cause: err });
}

/** Why a mesh is closed when this session closed it itself (SessionEnd's `offline`, or the server
 *  shutting down), not the broker. */
export const closedHere = (slug: string) =>
  new MeshError("unavailable", `This session has left mesh ${slug}: its Claude Code session ended (the SessionEnd hook), so it no longer sends or receives. A new Claude Code session connects again.`);
