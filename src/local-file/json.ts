// JSON read from a local file, with a reason a person can find in the file: Bun's JSON.parse says
// what it expected ("Property name must be a string literal") but not where, so a trailing comma
// in a 200-line settings.json was a hunt. A small scanner finds the line and column.

export type JsonText = { ok: true; value: unknown } | { ok: false; problem: string };

/** JSON.parse of `text`, or the problem as a phrase to follow a file's name: "is empty", or "is
 *  not valid JSON (line 3, column 1: property name must be a string literal)". */
export function parseJsonText(text: string): JsonText {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    if (text.trim() === "") return { ok: false, problem: "is empty" };
    const reason = withoutFileText((err as Error).message.replace(/^JSON Parse error: /, "")).replace(/^./, (c) => c.toLowerCase());
    const at = jsonErrorAt(text);
    const where = at ? `line ${at.line}, column ${at.column}` : null;
    return { ok: false, problem: `is not valid JSON (${[where, reason].filter(Boolean).join(": ")})` };
  }
}

/** Bun's reason without the file's own text it quotes (`Unexpected identifier "…"` quotes the word
 *  it stopped at: a config.json that lost a quote showed its secret key there, and that message
 *  reaches terminals, logs and, through the MCP server, the model). The line and column say where. */
const withoutFileText = (reason: string) => reason.replace(/"[^"]*"/g, "…");

/** Where `text` first stops being JSON (1-based line and column), or null when it is JSON or
 *  nests too deep to scan. */
export function jsonErrorAt(text: string): { line: number; column: number } | null {
  const offset = firstBadOffset(text);
  if (offset === null) return null;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

class Bad {
  constructor(readonly at: number) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPE = /^(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/;

/** The offset of the first character that cannot continue a JSON text (its length when it ends
 *  too soon), per RFC 8259; null when the whole text is one JSON value. */
function firstBadOffset(s: string): number | null {
  let i = 0;
  const space = () => {
    while (i < s.length && " \t\n\r".includes(s[i]!)) i++;
  };
  const expect = (c: string) => {
    if (s[i] !== c) throw new Bad(i);
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const c = s[i];
      if (c === undefined || c < " ") throw new Bad(i);
      i++;
      if (c === '"') return;
      if (c !== "\\") continue;
      const esc = ESCAPE.exec(s.slice(i, i + 5));
      if (!esc) throw new Bad(i);
      i += esc[0].length;
    }
  };
  const value = (): void => {
    space();
    const c = s[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (s[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          space();
          string();
          space();
          expect(":");
        }
        value();
        space();
        if (s[i] === ",") i++;
        else return expect(close);
      }
    }
    if (c === '"') return string();
    for (const word of ["true", "false", "null"]) if (s.startsWith(word, i)) return void (i += word.length);
    NUMBER.lastIndex = i;
    if (!NUMBER.test(s)) throw new Bad(i);
    i = NUMBER.lastIndex;
  };
  try {
    value();
    space();
    return i < s.length ? i : null;
  } catch (err) {
    if (err instanceof Bad) return err.at;
    return null; // nested deeper than the stack: no position, the reason is still given
  }
}
