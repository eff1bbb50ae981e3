// The mesh owner's direct messages bring the mesh keys (docs/protocol.md §11.5). The broker cannot
// tell a `keys` message from any other DM, so a grant entry of this member that takes `dm` from the
// owner's member key drops them (§5.9): every topic, group and broadcast message sealed after the
// next rotation stays unreadable, and nothing else says why. Where messages wait for keys, the CLI
// (inbox, topic history) and the MCP server (mesh_inbox, a refused post) name it with this note.
import type { BrokerClient } from "./client.ts";

type NoteOptions = { reader?: "user" | "model"; read?: <T>(r: () => Promise<T>) => Promise<T> };
const asIs = <T>(r: () => Promise<T>) => r();

/** What to add where messages wait for keys: that this member's own grant entry drops the owner's
 *  direct messages, and the commands that let them through (`meshOption`: the ` --mesh …` they
 *  need); "" when it does not, or when the grants cannot be read (the wait is then said as before).
 *  `reader`: the person at the CLI, or the model in a Claude Code session, whose user runs them;
 *  `read`: how the caller makes a read (the MCP server's end with the connection they were asked on). */
export async function ownerDmNote(client: BrokerClient, ownerPubkey: string, meshOption: string, { reader = "user", read = asIs }: NoteOptions = {}): Promise<string> {
  const grants = await read(() => client.request("grant_list", {})).then((r) => r.grants, () => []);
  const entry = grants.find((g) => g.peer === ownerPubkey);
  if (!entry || entry.caps.includes("dm")) return "";
  const grant = `claudemesh grant ${ownerPubkey.slice(0, 12)} dm${meshOption}`;
  if (reader === "model") return `This member does not let the mesh owner send it direct messages, which is how the mesh keys come: the user runs ${grant} in a terminal, then claudemesh inbox${meshOption}.`;
  return `You do not let the owner send you direct messages, which is how the keys come: run ${grant}, then claudemesh inbox${meshOption}.`;
}
