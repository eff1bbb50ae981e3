// A fixed list of values is defined once (src/cli/choice-arg.ts): every argument whose --help
// lists values ("a | b | c") carries that list for the completions, and its help is made from it,
// so help, completion and the command's check cannot disagree.
import { expect, test } from "bun:test";
import type { ArgsDef, CommandDef } from "citty";
import { COMMAND_TREE } from "../../src/cli/root.ts";
import { choicesOf, oneOf } from "../../src/cli/choice-arg.ts";

function args(cmd: CommandDef, path: string): [string, ArgsDef[string]][] {
  const own = Object.entries((cmd.args ?? {}) as ArgsDef).map(([name, def]): [string, ArgsDef[string]] => [`${path} ${name}`.trim(), def]);
  return [...own, ...Object.entries((cmd.subCommands ?? {}) as Record<string, CommandDef>).flatMap(([name, sub]) => args(sub, `${path} ${name}`.trim()))];
}

test("every argument whose help lists values carries the list its help names", () => {
  const listed = args(COMMAND_TREE, "").filter(([, def]) => / \| /.test(def.description ?? ""));
  expect(listed.length).toBeGreaterThan(6);
  const bad = listed.filter(([, def]) => !choicesOf(def) || !def.description!.includes(choicesOf(def)!.join(" | ")));
  expect(bad.map(([name]) => name)).toEqual([]);
});

test("oneOf returns a listed value and refuses another, naming the list and the nearest word", () => {
  expect(oneOf("next", ["now", "next", "low"], "--priority")).toBe("next");
  expect(() => oneOf("nxt", ["now", "next", "low"], "--priority")).toThrow("--priority must be now, next or low (did you mean next?).");
  expect(() => oneOf("owner", ["member", "admin"], "--role")).toThrow("--role must be member or admin.");
});
