// The broker's refusal of a topic this member has not joined: `forbidden`, worded "Join #<topic> …"
// (src/broker/router.ts for a post, src/broker/handlers/topics.ts for its history). Its words name
// no command, since the dashboard, the CLI and Claude Code sessions all get them; the CLI and the
// MCP tools say them again in their own terms (src/cli/topic-join-hint.ts, src/mcp/send-refusals.ts).
import { MeshError } from "../protocol/errors.ts";

/** Whether `err` is that refusal for `topic`. */
export const refusedAsNotJoined = (err: unknown, topic: string): err is MeshError =>
  err instanceof MeshError && err.code === "forbidden" && err.message.startsWith(`Join #${topic} `);
