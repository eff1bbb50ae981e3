// How two display names are compared (docs/protocol.md §4.2.1, name rule NAME_RULE), in one place:
// the broker's `peer_lookup`, and in the client the resolver (resolve.ts), the hints about names
// (name-hints.ts), the warning at `join`, and through them kick, ban, grant, block, send and the
// MCP tools. A name is each peer's own choice, so a name that only looks like another's must not
// quietly stand for it: names are compared by what a reader sees, not by their code points.
//
//   nameFold        Unicode NFC, without invisible characters (default-ignorable code points,
//                   controls, bidi marks, terminal escapes: stripInvisible), case-folded, white space
//                   collapsed: "José" composed or decomposed, "carol", "Carol" and "carol" + ZWJ are one name.
//   letterSkeleton  nameFold after compatibility normalisation (NFKD: full-width and mathematical
//                   letters, ligatures), with the letters of other scripts drawn like a Latin letter
//                   mapped to it (Cyrillic, Greek, Armenian, Cherokee, a few Latin ones of other
//                   shapes) and an i's second dot dropped: Cyrillic "саrol" and Latin "carol" have one.
//                   Names of one letter skeleton are the same name to a reader: either stands for it.
//   nameSkeleton    the letter skeleton with the ASCII characters that pass for others written as
//                   one (LOOK_ALIKE_ASCII: 0/o, 1/l/I/i/|/!, 5/s, 8/b, rn/m, vv/w, cl/d). Names of
//                   one skeleton "compare equal": a reader cannot be trusted to tell them apart, so
//                   either makes the other ambiguous; but a careful one can (a terminal's font draws
//                   1 and l apart), and honest names differ so (neil and nell), so in the resolver
//                   such a look-alike never stands for a name alone (docs/decisions.md, session 39).
//
// The tables are small on purpose, after UTS #39's confusables (6,000+ entries; no small, well-kept
// npm package carries it): the letters of the scripts that mix into Latin names unnoticed, and the
// ASCII look-alikes people use to pass for someone. Each step is one pass over the name: O(length).
// A single character is mapped to a sequence (m to "rn", not "rn" to m), so that the skeleton of the
// start of a name is the start of its skeleton, and the second tier of matching loses nothing.

/** The version of this comparison, which `peer_lookup` reports (§4.3.28): raised with any change
 *  to what compares equal (the tables below, the steps), so that a client does not take an
 *  answer made by another rule as complete. */
export const NAME_RULE = 2;

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
  // Armenian (Օ and Ս are caught by their small letters)
  "\u054f": "S", "\u053c": "L",
};

/** Small letters that look like a Latin small letter: mapped after case folding. */
export const LOOK_ALIKE_SMALL: Readonly<Record<string, string>> = {
  // Cyrillic
  "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0445": "x",
  "\u0455": "s", "\u0456": "i", "\u0458": "j", "\u04bb": "h", "\u0501": "d", "\u051b": "q", "\u051d": "w",
  "\u04cf": "l", "\u04af": "y", "\u0475": "v",
  // Greek
  "\u03b1": "a", "\u03bf": "o", "\u03bd": "v", "\u03c1": "p", "\u03b9": "i", "\u03ba": "k", "\u03c5": "u",
  "\u03c7": "x", "\u03f3": "j",
  // Armenian
  "\u0585": "o", "\u057d": "u", "\u0581": "g", "\u0570": "h", "\u0578": "n", "\u0566": "q",
  // Cherokee, by the small letter a capital folds to (Ꭰ U+13A0 to ꭰ U+AB70): Ꭰ Ꭱ Ꭲ Ꭵ Ꭹ Ꭺ Ꭻ Ꭼ Ꮃ Ꮇ Ꮋ Ꮍ
  // Ꮐ Ꮒ Ꮓ Ꮟ Ꮢ Ꮤ Ꮥ Ꮩ Ꮪ Ꮮ Ꮯ Ꮲ Ꮶ Ꮷ Ᏼ
  "\uab70": "d", "\uab71": "r", "\uab72": "t", "\uab75": "i", "\uab79": "y", "\uab7a": "a", "\uab7b": "j",
  "\uab7c": "e", "\uab83": "w", "\uab87": "m", "\uab8b": "h", "\uab8d": "y", "\uab90": "g", "\uab92": "h",
  "\uab93": "z", "\uab9f": "b", "\uaba2": "r", "\uaba4": "w", "\uaba5": "s", "\uaba9": "v", "\uabaa": "s",
  "\uabae": "l", "\uabaf": "c", "\uabb2": "p", "\uabb6": "k", "\uabb7": "d", "\u13fc": "b",
  // Latin letters of other shapes, small capitals, and symbols drawn as a letter
  "\u0261": "g", "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0269": "i", "\u1d04": "c", "\u1d0f": "o",
  "\u1d20": "v", "\u1d21": "w", "\u1d22": "z", "\ua731": "s", "\u01c0": "l", "\u01c3": "!", "\u00a1": "i",
};

/** Look-alikes that compatibility normalisation would turn into a letter that is none (the lunate
 *  sigmas ϲ Ϲ become σ Σ): mapped first. */
export const LOOK_ALIKE_FIRST: Readonly<Record<string, string>> = { "\u03f2": "c", "\u03f9": "C" };

/** ASCII characters that pass for others, each written as one of its class, last (in the skeleton
 *  only, not the letter skeleton): a digit as the letter it passes for, i, 1, |, ! (and I, folded
 *  to i) as l, and the letter that a pair of letters passes for as that pair. */
export const LOOK_ALIKE_ASCII: Readonly<Record<string, string>> = {
  "0": "o", "1": "l", "5": "s", "8": "b", "i": "l", "|": "l", "!": "l", "m": "rn", "w": "vv", "d": "cl",
};

const mapped = (text: string, table: Readonly<Record<string, string>>) => text.replace(/[^\x00-\x7f]/g, (c) => table[c] ?? c);

const FIRST = /[\u03f2\u03f9]/g;
/** An i or j with a combining dot above reads as the letter: its own dot hides the second. */
const SECOND_DOT = /(?<=[ij])\u0307/g;
const ASCII = /[0158i|!mwd]/g;

/** Lower case after upper case: full case folding, as near as JavaScript has it ("ß" and "SS"). */
const caseFold = (text: string) => text.toUpperCase().toLowerCase();

const spaced = (text: string) => text.replace(/\s+/g, " ").trim();

/** The name as compared for sameness (see the header). */
export const nameFold = (name: string): string => spaced(caseFold(stripInvisible(name.normalize("NFC"))).normalize("NFC"));

/** The letter skeleton before its last step: decomposed (NFKD), so that the ASCII step reaches an
 *  accented letter's base. */
const letters = (name: string): string => {
  const folded = caseFold(mapped(stripInvisible(name.replace(FIRST, (c) => LOOK_ALIKE_FIRST[c]!).normalize("NFKD")), LOOK_ALIKE_CAPITALS));
  return mapped(folded.normalize("NFKD"), LOOK_ALIKE_SMALL).replace(SECOND_DOT, "");
};

/** The name as a reader sees its letters (see the header): equal letter skeletons are one name,
 *  written with look-alike letters of other scripts or with characters that show nothing. */
export const letterSkeleton = (name: string): string => spaced(letters(name).normalize("NFC"));

/** The name as compared for looking alike (see the header): equal skeletons are names a reader
 *  cannot be trusted to tell apart. Equal letter skeletons have equal skeletons. */
export const nameSkeleton = (name: string): string => spaced(letters(name).replace(ASCII, (c) => LOOK_ALIKE_ASCII[c]!).normalize("NFC"));

/** Whether `a` and `b` look alike: the same name, or one a reader may not tell from it. */
export const looksAlike = (a: string, b: string): boolean => nameSkeleton(a) === nameSkeleton(b);

/** Whether `a` and `b` are the same name to a reader: the same letters, whatever their script
 *  (letterSkeleton). A name that only looks alike (looksAlike) is not. */
export const sameLetters = (a: string, b: string): boolean => letterSkeleton(a) === letterSkeleton(b);
