// `serve --check` refusing a setting or a config file (docs/operations.md "Settings"): with --json
// the verdict is on stdout as `{ok: false, error, fix}` as for the check's other failures (it
// printed nothing there, so `serve --check --json | jq .ok` failed to parse), the line on stderr
// as well, exit 2; a config file that is not valid JSON, or has an unknown key, gets a fix line.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";

const cfg = tempDir("cm-serve-refusals-cfg-");
const serve = (args: string[]) => cli(cfg, ["serve", ...args]);
const file = (name: string, text: string) => {
  const path = join(tempDir("cm-serve-refusals-file-"), name);
  writeFileSync(path, text);
  return path;
};

describe("serve --check --json answers a refused setting in JSON", () => {
  test("a bad flag value, an unknown flag, a config file that is missing", async () => {
    const missing = join(tempDir("cm-serve-refusals-none-"), "broker.json");
    const cases: [string[], string, string | null][] = [
      [["--port", "abc"], 'port from --port: expected an integer (got "abc")', null],
      [["--prot", "1"], "Unknown option --prot (did you mean --port?).", "see `claudemesh serve --help`"],
      [["--config", missing], `The config file ${missing} does not exist.`, "check the path given to --config (or CLAUDEMESH_CONFIG)"],
    ];
    for (const [args, error, fix] of cases) {
      const r = await serve(["--check", "--json", ...args]);
      const stderr = `claudemesh serve: ${error}\n${fix ? `  fix: ${fix}\n` : ""}`;
      expect({ code: r.code, json: r.json(), stderr: r.stderr }).toEqual({ code: 2, json: { ok: false, error, fix }, stderr });
    }
    // Without --json, stdout stays empty.
    const plain = await serve(["--check", "--port", "abc"]);
    expect({ code: plain.code, stdout: plain.stdout }).toEqual({ code: 2, stdout: "" });
  });
});

describe("a config file serve cannot use says how to fix it", () => {
  test("not valid JSON; an unknown key, with the key it is near", async () => {
    const bad = file("broker.json", '{"port": 7901,}');
    const r = await serve(["--check", "--config", bad]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: `claudemesh serve: config file ${bad} is not valid JSON (line 1, column 15: property name must be a string literal)\n  fix: correct the JSON there (a trailing comma and a missing quote are the usual ones), or point --config (or CLAUDEMESH_CONFIG) at another file\n`,
    });
    const typo = file("broker.json", '{"prot": 7901}');
    const t = await serve(["--check", "--json", "--config", typo]);
    expect({ code: t.code, error: t.json().error, fix: t.json().fix }).toEqual({
      code: 2,
      error: `config file ${typo}: unknown key "prot" (did you mean "port"?)`,
      fix: expect.stringContaining("the keys are those of `claudemesh serve --help`, in camelCase: host, port, dataDir,"),
    });
  });
});
