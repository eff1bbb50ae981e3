// What the client says about names beyond comparing them: whether a name reads as another member's
// session, the characters that tell look-alikes apart, and whether a name mixes scripts. The
// comparison itself is the protocol's (src/protocol/name-compare.ts, docs/protocol.md §4.2.1),
// since the broker's `peer_lookup` applies it too; it is re-exported here for the client's modules.
import { nameSkeleton, stripInvisible } from "../protocol/name-compare.ts";

export { letterSkeleton, looksAlike, nameFold, nameSkeleton, sameLetters } from "../protocol/name-compare.ts";

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

/** The ASCII characters of `name` that pass for others (the skeleton's last step: a digit, a bar,
 *  an exclamation mark, a capital I, a letter pair that reads as one letter), as `"1" "rn"`, each
 *  once; "" when it has none. Small i, l, m, w and d are not marked: every name has them. */
export function asciiLookAlikes(name: string): string {
  const odd = [...new Set(stripInvisible(name).match(/rn|vv|cl|[0158|!I]/g) ?? [])];
  const shown = odd.slice(0, MARKED).map((c) => `"${c}"`);
  return odd.length > MARKED ? `${shown.join(" ")} …` : shown.join(" ");
}

/** What tells `name` apart from its look-alikes, as a mark says it ("U+0441 U+0430", `"1"`): its code
 *  points outside printable ASCII and, unless `ascii` is false, its ASCII look-alikes; "" for none. */
export const lookAlikeMarks = (name: string, ascii = true): string => [unusualCodePoints(name), ascii ? asciiLookAlikes(name) : ""].filter(Boolean).join(" ");

/** The scripts whose letters pass for each other's (the letter skeleton's tables map them to Latin). */
const WATCHED = ["Latin", "Greek", "Cyrillic", "Armenian", "Cherokee"] as const;
const SCRIPT = WATCHED.map((name) => [name, new RegExp(`\\p{Script=${name}}`, "u")] as const);

/** The scripts of `name`'s letters, in the order they first appear, when they are more than one of
 *  those whose letters pass for another's (Latin, Greek, Cyrillic, Armenian, Cherokee): a name
 *  written so is what a look-alike is made of (UTS #39's mixed-script detection, for the scripts
 *  that matter to names typed in a terminal). [] for a name of one of them, or of others (Han
 *  beside Latin, Japanese kana beside Han: no letter of them passes for a Latin one). */
export function mixedScripts(name: string): string[] {
  const seen = new Set<string>();
  for (const c of stripInvisible(name.normalize("NFKD")).match(/\p{L}/gu) ?? []) {
    const script = SCRIPT.find(([, re]) => re.test(c));
    if (script) seen.add(script[0]);
  }
  return seen.size > 1 ? [...seen] : [];
}
