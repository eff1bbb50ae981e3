// How display names are compared (src/client/name-match.ts): the same name after NFC, case folding
// and the removal of invisible characters; a look-alike after compatibility normalisation and the
// Cyrillic and Greek homoglyphs of Latin letters. The strings of the session 33 review, by escape.
// Session 39: digits, symbols and letter pairs (1/l/I, 0/O, rn/m …), Armenian and Cherokee.
import { describe, expect, test } from "bun:test";
import { asciiLookAlikes, looksAlike, mixedScripts, nameFold, nameSkeleton, readsAsSessionOf, sameLetters, unusualCodePoints } from "../../src/client/name-match.ts";

describe("nameFold: one name, however it is encoded", () => {
  test.each([
    ["CAROL", "carol"],
    ["carol\u200d", "carol"], // zero-width joiner
    ["\u200bcar\u00adol\ufeff", "carol"], // zero-width space, soft hyphen, BOM
    ["Jos\u00e9", "jos\u00e9"], // composed
    ["Jose\u0301", "jos\u00e9"], // decomposed: the same
    ["Stra\u00dfe", "strasse"], // full case folding, as near as JavaScript has it
    ["  bob \u00a0 smith ", "bob smith"],
  ])("%j → %j", (name, folded) => {
    expect(nameFold(name)).toBe(folded);
  });

  test("a homoglyph is another name at this level (it is only a look-alike)", () => {
    expect(nameFold("\u0441\u0430rol")).not.toBe(nameFold("carol"));
  });
});

describe("looksAlike", () => {
  test.each([
    ["carol", "\u0441\u0430rol", true], // Cyrillic es and a
    ["carol", "carol\u200d", true],
    ["Jos\u00e9", "Jose\u0301", true],
    ["carol", "CAROL", true],
    ["HANNA", "\u0397\u0391\u039d\u039d\u0391", true], // Greek capitals
    ["pavel", "\u0440\u0430vel", true],
    ["carol", "\uff43\uff41\uff52\uff4f\uff4c", true], // full-width
    ["carol", "\u{1d41c}arol", true], // mathematical bold
    ["\u00ebx", "\u0451x", true], // Latin e with diaeresis, Cyrillic io
    ["me/app", "m\u0435/app", true],
    ["carol", "carl", false],
    ["Jos\u00e9", "Jose", false], // an accent shows
    ["bob1", "bobl", true], // a digit that passes for a letter (session 39; session 33 left digits out)
  ])("%j ~ %j: %p", (a, b, alike) => {
    expect(looksAlike(a, b)).toBe(alike);
  });

  test("only invisible characters leave nothing to compare", () => {
    expect(nameSkeleton("\u200d\u200b\u2060")).toBe("");
  });
});

describe("readsAsSessionOf: a member name shaped like a session name <member>/<project>", () => {
  test.each([
    ["me/app", "me", true],
    ["ME/app", "me", true],
    ["m\u0435/app", "me", true],
    ["me/app/x", "me/app", true],
    ["meapp", "me", false],
    ["me", "me", false],
    ["x/me/app", "me", false],
    ["/app", "\u200d", false], // a member whose name is only invisible characters names no sessions
  ])("%j of %j: %p", (name, member, reads) => {
    expect(readsAsSessionOf(name, member)).toBe(reads);
  });
});

test("unusualCodePoints: what tells look-alikes apart, each once, at most six", () => {
  expect(["carol", "\u0441\u0430rol", "carol\u200d", "Jos\u00e9", "Jose\u0301", "\u0430\u0430\u0431\u0432\u0433\u0434\u0435\u0436"].map(unusualCodePoints)).toEqual([
    "",
    "U+0441 U+0430",
    "U+200D",
    "U+00E9",
    "U+0301",
    "U+0430 U+0431 U+0432 U+0433 U+0434 U+0435 …",
  ]);
});

// Session 39: what session 33 left out. Each class of look-alike, by escape where it is not ASCII.
describe("looksAlike: digits, symbols, letter pairs and other scripts", () => {
  test.each([
    // digits and the letters they pass for
    ["alice", "a1ice"],
    ["bob", "b0b"],
    ["BOB", "8ob"],
    ["sam", "5am"],
    ["otto", "0tt0"],
    // capital I, small l, digit one, bar, exclamation mark, dotless i: one shape
    ["alice", "aIice"],
    ["alice", "a|ice"],
    ["alice", "a!ice"],
    ["alice", "al\u0131ce"],
    ["Ian", "lan"],
    // letter pairs that read as one letter
    ["mallory", "rnallory"],
    ["william", "vvilliam"],
    ["dave", "clave"],
    ["dave", "cIave"],
    // an i whose dot is drawn twice: i with a combining dot above
    ["alice", "ali\u0307ce"],
    // Armenian
    ["hugo", "\u0570\u057d\u0581\u0585"],
    ["nq", "\u0578\u0566"],
    ["SL", "\u054f\u053c"],
    ["OU", "\u0555\u054d"],
    // Cherokee (capitals and their small letters)
    ["DRAW", "\u13a0\u13a1\u13aa\u13b3"],
    ["draw", "\uab70\uab71\uab7a\uab83"],
    ["BLACK", "\u13f4\u13de\u13aa\u13df\u13e6"],
    ["JESTHMYGZBPVdhi", "\u13ab\u13ac\u13da\u13a2\u13bb\u13b7\u13bd\u13c0\u13c3\u13cf\u13e2\u13d9\u13e7\u13c2\u13a5"],
    ["sy", "\u13d5\u13a9"],
    ["rw", "\u13d2\u13d4"],
    // Latin letters of other shapes, small capitals, Cyrillic izhitsa, Greek lunate sigma
    ["ai", "\u0251\u0269"],
    ["cover", "\u1d04\u1d0f\u1d20er"],
    ["wzs", "\u1d21\u1d22\ua731"],
    ["vv", "\u0475\u0474"],
    ["carol", "\u03f2arol"],
    ["Carol", "\u03f9arol"],
    ["a|i!", "a\u01c0i\u01c3"],
    ["ai", "a\u00a1"],
  ])("%j ~ %j", (a, b) => {
    expect(looksAlike(a, b)).toBe(true);
  });

  test.each([
    ["alice", "alicia"],
    ["alice", "al\u00edce"], // an accent shows
    ["bob", "rob"],
    ["team1", "team2"],
    ["agent7", "agent1"],
    ["mary", "nary"],
    ["dave", "cave"],
    ["nn", "m"],
    ["uu", "w"],
    ["\u00ebx", "ex"], // a diaeresis shows
  ])("%j and %j do not", (a, b) => {
    expect(looksAlike(a, b)).toBe(false);
  });

  test("the start of a name looks like the start of its look-alike: the second tier of matching loses nothing", () => {
    for (const name of ["mallory", "william", "clara dawn", "a1ice", "Bob Smith", "d0m|n!c", "ali\u0307ce", "\u13a0\u13aa"]) {
      const starts = [...name].map((_, i) => [...name].slice(0, i + 1).join(""));
      expect({ name, missed: starts.filter((s) => !nameSkeleton(name).startsWith(nameSkeleton(s))) }).toEqual({ name, missed: [] });
    }
  });
});

describe("sameLetters: the look-alikes that stand for a name (letters of other scripts, invisible characters), not those of digits, symbols and letter pairs", () => {
  test.each([
    ["carol", "\u0441\u0430rol", true],
    ["carol", "CAROL", true],
    ["Jos\u00e9", "Jose\u0301", true],
    ["hugo", "\u0570\u057d\u0581\u0585", true],
    ["draw", "\u13a0\u13a1\u13aa\u13b3", true],
    ["alice", "ali\u0307ce", true],
    ["alice", "al\u0131ce", true],
    ["alice", "a1ice", false],
    ["alice", "aIice", false],
    ["Ian", "ian", true],
    ["mallory", "rnallory", false],
    ["neil", "nell", false],
  ])("%j and %j: %p", (a, b, same) => {
    expect({ same: sameLetters(a, b), alike: looksAlike(a, b) }).toEqual({ same, alike: true });
  });
});

test("asciiLookAlikes: the digits, symbols, capital I and letter pairs that pass for letters, each once", () => {
  expect(["alice", "a1ice", "aIice", "rnallory", "b0b 8", "vvil|!ia", "clara", "carol", "0000 1111 5555 8888 IIII rn vv cl | !"].map(asciiLookAlikes)).toEqual([
    "",
    '"1"',
    '"I"',
    '"rn"',
    '"0" "8"',
    '"vv" "|" "!"',
    '"cl"',
    "",
    '"0" "1" "5" "8" "I" "rn" …',
  ]);
});

test("mixedScripts: the scripts of a name whose letters come from more than one that pass for another's", () => {
  expect(["alice", "\u0441\u0430rol", "\u0414\u043c\u0438\u0442\u0440\u0438\u0439", "Jos\u00e9", "\u03b1lpha", "h\u0570\u13a0", "\u5f20\u4f1f bob", "b0b", "\uff43\uff41\u0440ol", "\u{1d41c}\u0430rol"].map(mixedScripts)).toEqual([
    [],
    ["Cyrillic", "Latin"],
    [],
    [],
    ["Greek", "Latin"],
    ["Latin", "Armenian", "Cherokee"],
    [],
    [],
    ["Latin", "Cyrillic"],
    ["Latin", "Cyrillic"],
  ]);
});
