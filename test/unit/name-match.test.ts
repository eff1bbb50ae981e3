// How display names are compared (src/client/name-match.ts): the same name after NFC, case folding
// and the removal of invisible characters; a look-alike after compatibility normalisation and the
// Cyrillic and Greek homoglyphs of Latin letters. The strings of the session 33 review, by escape.
import { describe, expect, test } from "bun:test";
import { looksAlike, nameFold, nameSkeleton, readsAsSessionOf, unusualCodePoints } from "../../src/client/name-match.ts";

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
    ["bob1", "bobl", false], // digits left out: a terminal's font shows them
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
