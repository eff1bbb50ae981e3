// Which display names the dashboard's #general warns about as twins (web/lib/chat.ts sameName):
// names that read the same, so characters that show nothing, or look-alike letters of another
// script, cannot dodge the warning (the comparison of send and kick, src/client/name-match.ts).
import { expect, test } from "bun:test";
import { sameName } from "../../web/lib/chat.ts";

test.each([
  ["alice", "Alice"],
  ["alice", " alice "],
  ["alice", "ａｌｉｃｅ"], // full width
  ["alice", "ali\u200Bce"], // zero-width space
  ["alice", "ali\u200Dce\u2060"], // zero-width joiner, word joiner
  ["alice", "\u202Ealice\u202C"], // bidi override and pop
  ["alice", "al\u00ADice"], // soft hyphen
  ["alice", "alice\uFE0F"], // variation selector
  ["alice", "alice\u{E0041}"], // tag character
  ["josé", "jose\u200B\u0301"], // an accent parted from its letter composes once the space is gone
  ["alice", "\u0430lice"], // Cyrillic а: a look-alike, as send and kick see it (src/client/name-match.ts)
  ["carol", "\u0441\u0430rol"],
  // Session 39: a digit, a capital I (one shape with l in the page's sans-serif font), a letter pair,
  // Armenian and Cherokee letters
  ["alice", "a1ice"],
  ["alice", "aIice"],
  ["mallory", "rnallory"],
  ["hugo", "\u0570\u057d\u0581\u0585"],
  ["DAVE", "\u13a0\u13aaVE"],
])("%p and %p read the same", (a, b) => expect(sameName(a, b)).toBe(true));

test.each([
  ["alice", "alicia"],
  ["alice", "al ice"],
  ["alice", "al\u00edce"], // an accent shows
])("%p and %p do not", (a, b) => expect(sameName(a, b)).toBe(false));
