// docs/claude-code.md against the code it describes, for the parts that change with it: the MCP
// tools and their inputs ("## Tools"), the hooks `claudemesh install` writes ("What install
// changes"), and the keys of a channel notification's meta. A tool, input or hook added or renamed
// without the doc fails here.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { meshTools } from "../../src/mcp/tools.ts";
import type { Meshes } from "../../src/mcp/meshes.ts";
import { OUR_HOOKS } from "../../src/cli/claude-code/hooks-settings.ts";
import { channelMeta } from "../../src/mcp/framing.ts";

const doc = readFileSync(resolve(import.meta.dir, "../../docs/claude-code.md"), "utf8");
const lines = doc.split("\n");

/** The lines of the table that follows the line starting with `header`. */
function tableRows(header: string): string[][] {
  const start = lines.findIndex((l) => l.trim().startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith("|")) break;
    rows.push(line.trim().slice(1, -1).split(" | ").map((c) => c.trim()));
  }
  return rows;
}

type Input = { required: boolean; enum?: string[]; min?: number; max?: number };

/** An input cell such as "`to`, `limit?` (≤ 50), `priority?` (now/next/low)" as name → Input. */
function docInputs(cell: string): Record<string, Input> {
  const out: Record<string, Input> = {};
  for (const [, name, opt, paren] of cell.matchAll(/`([a-z_]+)(\?)?`(?: \(([^)]*)\))?/g)) {
    const input: Input = { required: !opt };
    const first = paren?.split(",")[0]?.trim() ?? "";
    if (first.includes("/")) input.enum = first.split("/");
    const range = /^(\d+)–(\d+)$/.exec(first);
    if (range) [input.min, input.max] = [Number(range[1]), Number(range[2])];
    const atMost = /^≤ (\d+)$/.exec(first);
    if (atMost) input.max = Number(atMost[1]);
    out[name!] = input;
  }
  return out;
}

/** The same, read from a tool's schema, keeping only what the doc states: the choices and bounds
 *  of an input where the doc gives them (it lists mesh_ask's priorities once, under mesh_send). */
function codeInputs(schema: Record<string, z.ZodTypeAny>, stated: Record<string, Input>): Record<string, Input> {
  const json = z.toJSONSchema(z.object(schema)) as { properties: Record<string, { enum?: string[]; minimum?: number; maximum?: number }>; required?: string[] };
  const out: Record<string, Input> = {};
  for (const [name, p] of Object.entries(json.properties)) {
    const input: Input = { required: json.required?.includes(name) ?? false };
    if (stated[name]?.enum) input.enum = p.enum;
    if (stated[name]?.min !== undefined) input.min = p.minimum;
    if (stated[name]?.max !== undefined) input.max = p.maximum;
    out[name] = input;
  }
  return out;
}

// The handlers use `meshes` only when called; the names and schemas are plain data.
const tools = meshTools({} as Meshes);

test("the Tools table lists every MCP tool, and each input with whether it is optional, its choices and bounds", () => {
  const rows = tableRows("| tool | input |");
  expect(rows.map((r) => r[0])).toEqual(tools.map((t) => `\`${t.name}\``));
  // client_message_id is told once, below the table, for the tools that take it.
  const retryLine = lines.find((l) => l.includes("also take `client_message_id?`")) ?? "";
  const retryTools = [...retryLine.split("also take")[0]!.matchAll(/`(mesh_[a-z]+)`/g)].map((m) => m[1]);
  for (const [i, tool] of tools.entries()) {
    const stated = docInputs(rows[i]![1]!);
    if (retryTools.includes(tool.name)) stated.client_message_id = { required: false };
    expect({ tool: tool.name, inputs: stated }).toEqual({ tool: tool.name, inputs: codeInputs(tool.inputSchema, stated) });
  }
});

test("mesh_ask's documented default wait is the one its schema tells the model", () => {
  const row = tableRows("| tool | input |").find((r) => r[0] === "`mesh_ask`")!;
  const stated = /default (\d+)\)/.exec(row[1]!)![1];
  const described = tools.find((t) => t.name === "mesh_ask")!.inputSchema.timeout_seconds!.description;
  expect(described).toContain(`default ${stated}`);
});

test("the hooks table lists the hooks install writes: event, command, and which one is asyncRewake", () => {
  const rows = tableRows("| event | command |").map((r) => r[0] + " " + r[1]);
  const written = Object.entries(OUR_HOOKS).flatMap(([event, specs]) => specs.map((s) => `${event}${s.asyncRewake ? " (asyncRewake)" : ""} \`claudemesh hook ${s.event}\``));
  expect(rows).toEqual(written);
});

test("the channel meta keys are the ones listed", () => {
  const line = doc.slice(doc.indexOf("Channel `meta` carries"), doc.indexOf("## Tools"));
  const listed = [...line.slice(line.indexOf("anything else):")).matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  const meta = channelMeta({ from: { name: "bob", pubkey: "ab" }, mesh: "shop", messageId: "m", priority: "next" } as Parameters<typeof channelMeta>[0]);
  expect(listed).toEqual(Object.keys(meta));
});
