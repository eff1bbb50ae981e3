// The broker's refusal of a topic this member has not joined ("Join #x before posting to it.",
// "Join #x to read its history."), said with the command that joins it (src/mcp/send-refusals.ts
// says it again for a model, which has no join tool).
import { MeshError } from "../protocol/errors.ts";
import { refusedAsNotJoined } from "../client/not-joined.ts";

/** `err` with `claudemesh topic join <topic>` (and `option`, the --mesh that acts on the mesh
 *  refused in: src/cli/mesh-named.ts meshOption) and "then <again>" when it is that refusal (still
 *  forbidden, exit 3); `err` itself otherwise. Never throws. */
export function topicJoinHint(err: unknown, topic: string, again: string, option = ""): unknown {
  if (!refusedAsNotJoined(err, topic)) return err;
  return new MeshError("forbidden", `You have not joined #${topic}. Join it with \`claudemesh topic join ${topic}${option}\`, then ${again}.`, { cause: err });
}
