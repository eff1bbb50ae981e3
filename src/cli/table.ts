// Columns for the terminal, measured as a terminal draws text (Bun.stringWidth: East Asian wide
// characters take 2 columns, combining marks and zero-width characters none, an emoji sequence 2)
// rather than in UTF-16 code units, which put "田中太郎" 4 columns right of its column and an NFD
// "José" 1 left.
import { quotedName } from "../client/untrusted-text.ts";
import { MAX_NAME_LEN } from "../protocol/limits.ts";

/** Columns `text` takes in a terminal. */
export const widthOf = (text: string): number => Bun.stringWidth(text);

/** `text` followed by spaces up to `width` columns; never cut. */
export const pad = (text: string, width: number): string => text + " ".repeat(Math.max(0, width - widthOf(text)));

/** `text` cut to at most `max` columns on grapheme boundaries (a base letter keeps its marks, an
 *  emoji sequence stays whole), ending with "…" when cut. */
export function fit(text: string, max: number): string {
  if (widthOf(text) <= max) return text;
  let out = "";
  let used = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) {
    const w = widthOf(segment);
    if (used + w > max - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Widest a name is shown in a table, in terminal columns: a longer one is cut with "…" (the key
 *  prefix or slug on its line still tells it apart). A 64-character CJK name took 128 columns. */
export const NAME_COLUMNS = 40;

/** A name for a table cell: quoted and escaped (quotedName: nothing the name holds can fake what
 *  follows it, hide or reorder), and cut to `max` columns with "…" inside the quotes. */
export function nameCell(name: string, max = NAME_COLUMNS): string {
  const quoted = quotedName(name, MAX_NAME_LEN);
  return widthOf(quoted) <= max ? quoted : `${fit(quoted.slice(0, -1), max - 1)}"`;
}

/** Rows as lines, every column but the last padded to its widest cell, columns parted by `gap`. */
export function alignColumns(rows: readonly (readonly string[])[], gap = "  "): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, widthOf(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i]!))).join(gap));
}
