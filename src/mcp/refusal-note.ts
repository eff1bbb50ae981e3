// What the model is told about pushes the MCP server refused (they failed verification: a broker
// re-targeted, moved or re-attributed them, or sent what no member sealed). The same words in
// mesh_inbox's answer and in the context a hook injects, whichever says it first; never a channel
// push, which a broker could repeat to interrupt the session at will.
import { MAX_INJECTION_CHARS } from "./framing.ts";

/** Pushes refused on one mesh since the model was last told: `count` of them, on the mesh link
 *  at index `link`, whose running total of refusals was `through` when this was read. Whoever
 *  tells of it confirms `through` (how far the telling went), not the count: a mesh_inbox that
 *  told of more in between must not make a later refusal look told (Meshes.refusalsSaid). */
export type Refusal = { mesh: string; count: number; link: number; through: number };

/** One line per mesh with refusals ("" if none): the count, that nothing of them was shown, and
 *  what to do. The sender the broker claims is not named: it may be the broker's invention. */
export function refusalNote(refusals: readonly Refusal[]): string {
  return refusals
    .filter((r) => r.count > 0)
    .map((r) => `${r.count} message(s) failed verification and were dropped (mesh ${r.mesh}); they were not shown. The broker may have changed them (another recipient's, moved or re-attributed): tell your user, whose MCP server log (\`claude --debug\`) says why for each.`)
    .join("\n");
}

/** The note as a hook injects it, naming claudemesh, since nothing else in the context may. */
export const hookRefusalNote = (refusals: readonly Refusal[]): string => {
  const note = refusalNote(refusals);
  return note ? `claudemesh: ${note}` : "";
};

/** What a hook's messages may take of its injection (MAX_INJECTION_CHARS) when it also tells of
 *  `refusals`: the server and the hook both frame the batch within it, so they agree on what the
 *  hook shows. */
export const injectionBudget = (refusals: readonly Refusal[]): number => {
  const note = hookRefusalNote(refusals);
  return MAX_INJECTION_CHARS - (note ? note.length + 2 : 0);
};
