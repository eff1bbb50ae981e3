// The broker's refusal of a topic this member has not joined ("Join #x before posting to it.",
// "Join #x to read its history."), said with the command that joins it: the broker's words name
// no command, since the dashboard and Claude Code sessions get them too (src/mcp/send-refusals.ts
// says them again for a model, which has no join tool).
import { MeshError } from "../protocol/errors.ts";

/** `err` with `claudemesh topic join <topic>` and "then <again>" when it is that refusal
 *  (forbidden, exit 3 as before); `err` itself otherwise. Never throws. */
export function topicJoinHint(err: unknown, topic: string, again: string): unknown {
  if (!(err instanceof MeshError) || err.code !== "forbidden" || !err.message.startsWith(`Join #${topic} `)) return err;
  return new MeshError("forbidden", `You have not joined #${topic}. Join it with \`claudemesh topic join ${topic}\`, then ${again}.`, { cause: err });
}
