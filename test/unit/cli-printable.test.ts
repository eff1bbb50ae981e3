// Error messages reach the terminal, and some are a broker's words: printable() keeps them text.
import { expect, test } from "bun:test";
import { printable } from "../../src/cli/output.ts";

test("escape sequences and control characters are removed, line breaks kept, length bounded", () => {
  expect(printable("a\x1b[31mred\x1b[0m b\x07c\nd\x1bMe\u009bx")).toBe("ared bc\ndex");
  expect(printable("\x1b[2J\x1b[Hcleared?")).toBe("cleared?");
  const long = printable("z".repeat(5000));
  expect(long.length).toBe(2001);
  expect(long.endsWith("…")).toBe(true);
});

test("zero-width and other invisible characters go too, as in what the MCP server shows (untrusted-text.ts)", () => {
  expect(printable("al\u200bice\u2060 \ufeffbob\u061c\u2064\t!")).toBe("alice bob\t!");
});
