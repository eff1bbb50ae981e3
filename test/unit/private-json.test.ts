// readPrivateJson (src/client/local/files.ts): one of claudemesh's own JSON files read, with the
// reader's own words for one that is empty or not JSON. Here through the key `join`/`new` saved
// for an unanswered request (pending-enrolments.ts); the config and the audit checkpoint are
// pinned by test/integration/cli-local-files and cli-audit-checkpoint.
import { expect, test } from "bun:test";
import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalFileError, readPrivateJson, writePrivateFile } from "../../src/client/local/files.ts";
import { pendingEnrolment } from "../../src/client/local/pending-enrolments.ts";
import { scratchDir } from "../preload.ts";

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof LocalFileError ? { message: err.message, fix: err.fix } : err;
  }
  return "no error";
};

test("nothing there is null; JSON is its value, null included; a file others can read is refused", () => {
  const dir = scratchDir("cm-json-");
  const damaged = (problem: string) => new LocalFileError(problem);
  expect(readPrivateJson(join(dir, "none.json"), { damaged })).toBeNull();
  writePrivateFile(join(dir, "null.json"), "null");
  expect(readPrivateJson(join(dir, "null.json"), { damaged })).toEqual({ value: null });
  chmodSync(join(dir, "null.json"), 0o644);
  expect(refusal(() => readPrivateJson(join(dir, "null.json"), { damaged, holds: "a test" }))).toEqual({ message: `${join(dir, "null.json")} is readable by other users (mode 644); it holds a test.`, fix: `chmod 600 ${join(dir, "null.json")}` });
});

test("a saved key for an unanswered request that is damaged or empty is refused with its path and the move-aside fix", () => {
  const dir = scratchDir("cm-pending-json-");
  pendingEnrolment(dir, "join inv1");
  const path = join(dir, "pending", readdirSync(join(dir, "pending"))[0]!);
  const fix = `move it aside (mv ${path} ${path}.aside), then run this again`;
  for (const [text, problem] of [
    ["{", "is not valid JSON (line 1, column 2: expected '}')"],
    ["", "is empty"],
  ]) {
    writeFileSync(path, text!);
    expect(refusal(() => pendingEnrolment(dir, "join inv1"))).toEqual({ message: `The key saved for an unanswered request, ${path}, ${problem}.`, fix });
  }
});
