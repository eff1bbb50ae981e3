// Which display names the dashboard's #general warns about as twins (web/lib/chat.ts sameName):
// names that read the same, so characters that show nothing cannot dodge the warning.
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
])("%p and %p read the same", (a, b) => expect(sameName(a, b)).toBe(true));

test.each([
  ["alice", "alicia"],
  ["alice", "al ice"],
  ["alice", "аlice"], // Cyrillic а: a different letter (the key tells them apart, not this check)
])("%p and %p do not", (a, b) => expect(sameName(a, b)).toBe(false));
