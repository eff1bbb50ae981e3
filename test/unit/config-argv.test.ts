// serve's command line read strictly (src/config/argv.ts): citty let `--prot 80` through as a stray
// key, so a typo ran the broker on the default. Every word is a declared flag, its value, or a
// declared positional; anything else is a ConfigError naming it (and the nearest known flag).
import { expect, test } from "bun:test";
import { parseArgv } from "../../src/config/argv.ts";
import { ConfigError } from "../../src/config/load.ts";
import { serveArgs } from "../../src/cli/args.ts";

const parse = (words: string[]) => parseArgv(words, serveArgs);
const refusal = (words: string[]) => {
  try {
    parse(words);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return "accepted";
};

test("declared flags: values after a space or '=', booleans alone or negated", () => {
  expect(parse(["--port", "80", "--host=::", "--max-frame-bytes", "2048", "--check", "--log-level", "debug"])).toEqual({ port: "80", host: "::", "max-frame-bytes": "2048", check: true, "log-level": "debug" });
  expect(parse(["--no-check", "--port", "-5"])).toEqual({ check: false, port: "-5" });
  expect(parse([])).toEqual({});
});

test.each([
  [["--prot", "80"], "Unknown option --prot (did you mean --port?)"],
  [["--log-levl", "debug"], "Unknown option --log-levl (did you mean --log-level?)"],
  [["--maxFrameBytes", "2048"], "Unknown option --maxFrameBytes (did you mean --max-frame-bytes?)"],
  [["--public_url", "https://x"], "Unknown option --public_url (did you mean --public-url?)"],
  [["--verbose"], "Unknown option --verbose"],
  [["-p", "80"], "Unknown option -p"],
  [["--no-port"], "Unknown option --no-port"],
  [["--port"], "--port needs a value"],
  [["--port", ""], "--port needs a value"],
  [["--port="], "--port needs a value"],
  [["--data-dir", "--check"], "--data-dir needs a value"],
  [["--config", "--no-check"], "--config needs a value"],
  [["--port", "1", "--port", "2"], "--port is given twice"],
  [["--check", "--no-check"], "--check is given twice"],
  [["--check=false"], "--check takes no value"],
  [["--check", "false"], 'unexpected argument "false"'],
  [["8080"], 'unexpected argument "8080"'],
  [["--", "--port"], 'unexpected argument "--port"'],
])("%p is refused: %s", (words, message) => {
  expect(refusal(words)).toBe(message);
});

test("declared positionals are filled in order, after -- too; extra ones are refused", () => {
  const spec = { file: { type: "positional" }, force: { type: "boolean" } };
  expect(parseArgv(["a.db", "--force"], spec)).toEqual({ file: "a.db", force: true });
  expect(parseArgv(["--", "-x.db"], spec)).toEqual({ file: "-x.db" });
  expect(() => parseArgv(["a.db", "b.db"], spec)).toThrow('unexpected argument "b.db"');
});
