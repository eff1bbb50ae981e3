// What the client says about names beyond comparing them: whether a name reads as another member's
// session, and the code points that tell look-alikes apart. The comparison itself is the
// protocol's (src/protocol/name-compare.ts, docs/protocol.md §4.2.1), since the broker's
// `peer_lookup` applies it too; it is re-exported here for the client's modules.
import { nameSkeleton } from "../protocol/name-compare.ts";

export { looksAlike, nameFold, nameSkeleton } from "../protocol/name-compare.ts";

/** Whether `name` reads as the name of a session of the member called `member`: Claude Code
 *  sessions are named `<member>/<project>` (src/mcp/mesh-link.ts), so "me/app" taken as a member's
 *  own name reads as a session of the member "me". */
export const readsAsSessionOf = (name: string, member: string): boolean => {
  const m = nameSkeleton(member);
  return m !== "" && nameSkeleton(name).startsWith(`${m}/`);
};

/** Most code points a mark lists: enough to tell two names apart, short enough for one line. */
const MARKED = 6;

/** What tells `name` apart from a look-alike written differently: its code points outside printable
 *  ASCII (the invisible ones too), as `U+0441 U+0430`, each once; "" when it has none. */
export function unusualCodePoints(name: string): string {
  const odd = [...new Set([...name].filter((c) => !/^[\x20-\x7e]$/.test(c)))];
  const shown = odd.slice(0, MARKED).map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`);
  return odd.length > MARKED ? `${shown.join(" ")} …` : shown.join(" ");
}
