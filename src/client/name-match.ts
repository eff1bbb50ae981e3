// How two display names are compared, in one place: the resolver (resolve.ts), the hints about
// names (name-hints.ts), the warning at `join`, and through them kick, ban, grant, block, send and
// the MCP tools. A name is each peer's own choice, so a name that only looks like another's must
// not quietly stand for it: names are compared by what a reader sees, not by their code points.
//
//   nameFold      Unicode NFC, without invisible characters (default-ignorable code points,
//                 controls, bidi marks: untrusted-text.ts), case-folded, white space collapsed:
//                 "José" composed or decomposed, "carol", "Carol" and "carol" + ZWJ are one name.
//   nameSkeleton  nameFold after compatibility normalisation (NFKD: full-width and mathematical
//                 letters, ligatures) and with the common Cyrillic and Greek homoglyphs of Latin
//                 letters mapped to them: Cyrillic "саrol" and Latin "carol" have one skeleton.
//
// The table is small on purpose (UTS #39's confusables.txt has 6,000+ entries; no small,
// well-kept npm package carries it): the letters of the scripts that mix into Latin names
// unnoticed. Digits and symbols (0/O, 1/l, rn/m) are left out: they show in a terminal's font.
import { stripInvisible } from "./untrusted-text.ts";

/** Capitals whose lower case is no Latin look-alike (Greek Η → η, but it reads as H): mapped before
 *  case folding. */
const UPPER: Record<string, string> = {
  // Greek
  "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I", "\u039a": "K",
  "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
  // Cyrillic
  "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O",
  "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0423": "Y", "\u0425": "X", "\u0405": "S", "\u0406": "I",
  "\u0408": "J", "\u04c0": "I",
};

/** Small letters that look like a Latin small letter: mapped after case folding. */
const LOWER: Record<string, string> = {
  // Cyrillic
  "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0445": "x",
  "\u0455": "s", "\u0456": "i", "\u0458": "j", "\u04bb": "h", "\u0501": "d", "\u051b": "q", "\u051d": "w",
  "\u04cf": "l", "\u04af": "y",
  // Greek
  "\u03b1": "a", "\u03bf": "o", "\u03bd": "v", "\u03c1": "p", "\u03b9": "i", "\u03ba": "k", "\u03c5": "u",
  "\u03c7": "x", "\u03f2": "c", "\u03f3": "j",
  // Latin letters of other shapes
  "\u0261": "g", "\u0131": "i", "\u0237": "j",
};

const mapped = (text: string, table: Record<string, string>) => text.replace(/[^\x00-\x7f]/g, (c) => table[c] ?? c);

/** Lower case after upper case: full case folding, as near as JavaScript has it ("ß" and "SS"). */
const caseFold = (text: string) => text.toUpperCase().toLowerCase();

const spaced = (text: string) => text.replace(/\s+/g, " ").trim();

/** The name as compared for sameness (see the header). */
export const nameFold = (name: string): string => spaced(caseFold(stripInvisible(name.normalize("NFC"))).normalize("NFC"));

/** The name as compared for looking alike (see the header): equal skeletons are names a reader
 *  cannot be trusted to tell apart. */
export const nameSkeleton = (name: string): string =>
  spaced(mapped(caseFold(mapped(stripInvisible(name.normalize("NFKD")), UPPER)).normalize("NFKD"), LOWER).normalize("NFC"));

/** Whether `a` and `b` look alike: the same name, or one a reader cannot tell from it. */
export const looksAlike = (a: string, b: string): boolean => nameSkeleton(a) === nameSkeleton(b);

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
