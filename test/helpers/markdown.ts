// Fenced code blocks of a markdown document with their info strings, for the tests that load
// examples and vectors from docs/ so the documents cannot drift from the code.

export type Block = { info: string; body: string; line: number };

export function fencedBlocks(md: string): Block[] {
  const lines = md.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    out.push({ info: open[1]!.trim(), body: body.join("\n"), line: start + 1 });
  }
  return out;
}
