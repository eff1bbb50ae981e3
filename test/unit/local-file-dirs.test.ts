// makeDirs and removeMadeDirs (src/local-file/dirs.ts): mkdir -p that returns what it made, and
// removes it again when a name on the way cannot be made; the removal never takes what it did not
// make or a directory someone put something in.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDirs, removeMadeDirs } from "../../src/local-file/dirs.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const codeOf = (work: () => unknown) => {
  try {
    work();
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
};

test("makes what is missing, outermost first, mode 0700; nothing when it is there", () => {
  const root = tempDir();
  const made = makeDirs(join(root, "a", "b", "c"));
  expect(made).toEqual([join(root, "a"), join(root, "a", "b"), join(root, "a", "b", "c")]);
  expect(made.map((d) => (statSync(d).mode & 0o777).toString(8))).toEqual(["700", "700", "700"]);
  expect(makeDirs(join(root, "a", "b"))).toEqual([]);
});

test("a name on the way that cannot be made: its error, and none of what it made is left", () => {
  const root = tempDir();
  writeFileSync(join(root, "file"), "");
  expect(codeOf(() => makeDirs(join(root, "a", "b", "x".repeat(300))))).toBe("ENAMETOOLONG");
  expect(codeOf(() => makeDirs(join(root, "c", "file")))).toBe(null); // "file" inside c is new
  expect(codeOf(() => makeDirs(join(root, "file")))).toBe("EEXIST"); // a file where the directory goes
  expect(codeOf(() => makeDirs(join(root, "d", "e", "..", "..", "file", "f")))).toBe("ENOTDIR");
  expect(readdirSync(root).toSorted()).toEqual(["c", "file"]);
});

test("removeMadeDirs removes deepest first and stops at a directory that is not empty", () => {
  const root = tempDir();
  const made = makeDirs(join(root, "a", "b", "c"));
  writeFileSync(join(root, "a", "kept"), "someone's");
  removeMadeDirs(made);
  expect(readdirSync(join(root, "a"))).toEqual(["kept"]);
  mkdirSync(join(root, "z"));
  removeMadeDirs([join(root, "z"), join(root, "z", "gone")]); // one already gone: nothing more is removed
  expect(readdirSync(root).toSorted()).toEqual(["a", "z"]);
});
