// How two display names are compared (docs/protocol.md §4.2.1, name rule NAME_RULE), in one place:
// the broker's `peer_lookup`, and in the client the resolver (resolve.ts), the hints about names
// (name-hints.ts), the warning at `join`, and through them kick, ban, grant, block, send and the
// MCP tools. A name is each peer's own choice, so a name that only looks like another's must not
// quietly stand for it: names are compared by what a reader sees, not by their code points.
//
//   nameFold      Unicode NFC, without invisible characters (default-ignorable code points,
//                 controls, bidi marks, terminal escapes: stripInvisible), case-folded, white space collapsed:
//                 "José" composed or decomposed, "carol", "Carol" and "carol" + ZWJ are one name.
//   nameSkeleton  nameFold after compatibility normalisation (NFKD: full-width and mathematical
//                 letters, ligatures) and with the common Cyrillic and Greek homoglyphs of Latin
//                 letters mapped to them: Cyrillic "саrol" and Latin "carol" have one skeleton.
//
// The table is small on purpose (UTS #39's confusables.txt has 6,000+ entries; no small,
// well-kept npm package carries it): the letters of the scripts that mix into Latin names
// unnoticed. Digits and symbols (0/O, 1/l, rn/m) are left out: they show in a terminal's font.

/** The version of this comparison, which `peer_lookup` reports (§4.3.28): raised with any change
 *  to what compares equal (the tables below, the steps), so that a client does not take an
 *  answer made by another rule as complete. */
export const NAME_RULE = 1;

/** Shortest key prefix, in hex digits, that names a key when a target is typed (a name of the
 *  same letters is matched as a name too). */
export const MIN_KEY_PREFIX = 6;

/** A terminal escape sequence whole (CSI, or ESC and one character), so none of it is left. */
export const ESCAPES = /\x1b(\[[0-?]*[ -\/]*[@-~]|[@-_])/g;
/** Controls, bidi controls, and every default-ignorable code point: zero-width and joiner
 *  characters, soft hyphen, combining grapheme joiner, variation selectors, Hangul fillers, and the
 *  tag block (U+E0000–E007F: text a model reads that no one sees, "ASCII smuggling"). */
export const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\p{Default_Ignorable_Code_Point}/gu;

/** Without terminal escape sequences and invisible characters; newlines and tabs kept. */
export const stripInvisible = (text: string): string => text.replace(ESCAPES, "").replace(INVISIBLE, "");

/** Capitals whose lower case is no Latin look-alike (Greek Η → η, but it reads as H): mapped before
 *  case folding. */
export const LOOK_ALIKE_CAPITALS: Readonly<Record<string, string>> = {
  // Greek
  "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I", "\u039a": "K",
  "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
  // Cyrillic
  "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O",
  "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0423": "Y", "\u0425": "X", "\u0405": "S", "\u0406": "I",
  "\u0408": "J", "\u04c0": "I",
};

/** Small letters that look like a Latin small letter: mapped after case folding. */
export const LOOK_ALIKE_SMALL: Readonly<Record<string, string>> = {
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

const mapped = (text: string, table: Readonly<Record<string, string>>) => text.replace(/[^\x00-\x7f]/g, (c) => table[c] ?? c);

/** Lower case after upper case: full case folding, as near as JavaScript has it ("ß" and "SS"). */
const caseFold = (text: string) => text.toUpperCase().toLowerCase();

const spaced = (text: string) => text.replace(/\s+/g, " ").trim();

/** The name as compared for sameness (see the header). */
export const nameFold = (name: string): string => spaced(caseFold(stripInvisible(name.normalize("NFC"))).normalize("NFC"));

/** The name as compared for looking alike (see the header): equal skeletons are names a reader
 *  cannot be trusted to tell apart. */
export const nameSkeleton = (name: string): string =>
  spaced(mapped(caseFold(mapped(stripInvisible(name.normalize("NFKD")), LOOK_ALIKE_CAPITALS)).normalize("NFKD"), LOOK_ALIKE_SMALL).normalize("NFC"));

/** Whether `a` and `b` look alike: the same name, or one a reader cannot tell from it. */
export const looksAlike = (a: string, b: string): boolean => nameSkeleton(a) === nameSkeleton(b);
