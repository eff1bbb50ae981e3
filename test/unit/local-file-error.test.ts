// fileError (src/local-file/error.ts): a Node fs error + the path + what claudemesh was doing →
// one sentence naming the path and what is wrong, and a fix; never the errno text. The errors a
// root test run cannot cause on a real disk (EACCES, EROFS, ENOSPC, …) are given as Node makes
// them; the ones it can (ENOTDIR, EISDIR, EEXIST) come from real calls. And parseJsonText: where
// a file stops being JSON, which Bun's JSON.parse does not say.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoOf, fileError, LocalFileError, unworded } from "../../src/local-file/error.ts";
import { jsonErrorAt, parseJsonText } from "../../src/local-file/json.ts";
import { scratchDir } from "../preload.ts";

/** An error as Node's fs makes it: a code, a syscall, a path. */
const errno = (code: string, path = "/x", syscall = "open") => Object.assign(new Error(`${code}: raw text, ${syscall} '${path}'`), { code, syscall, path });
const said = (err: unknown): any => (err instanceof LocalFileError ? { message: err.message, fix: err.fix } : err);
const thrown = (work: () => unknown) => {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
};

describe("fileError", () => {
  const dir = scratchDir("cm-fserr-");
  const file = join(dir, "a-file");
  writeFileSync(file, "x");

  test("a path through a file names the file (ENOTDIR), for reads and writes", () => {
    const under = join(file, "deeper", "b.json");
    expect(said(fileError(thrown(() => statSync(under)), under, "read", { what: "the claudemesh config" }))).toEqual({ message: `Cannot read the claudemesh config ${under}: ${file} is a file, not a directory.`, fix: `choose a path that does not go through the file ${file}` });
    expect(said(fileError(thrown(() => mkdirSync(under, { recursive: true })), under, "create"))).toEqual({ message: `Cannot create the directory ${under}: ${file} is a file, not a directory.`, fix: `choose a path that does not go through the file ${file}` });
  });

  test("a directory where a file is expected (EISDIR), and a file where a directory is (EEXIST)", () => {
    expect(said(fileError(thrown(() => readFileSync(dir)), dir, "read", { what: "the backup" }))).toEqual({ message: `The backup ${dir} is a directory, not a file.`, fix: "give the path of a file, not a directory" });
    expect(said(fileError(thrown(() => mkdirSync(file, { recursive: true })), file, "create"))).toEqual({ message: `${file} is a file, not a directory.`, fix: `move the file ${file} away, or choose another path` });
  });

  test("a missing file to read, and a directory nothing can be created in (ENOENT)", () => {
    expect(said(fileError(errno("ENOENT"), join(dir, "nope.json"), "read", { what: "the config file" }))).toEqual({ message: `The config file ${join(dir, "nope.json")} does not exist.`, fix: "check the path" });
    // mkdir -p under a missing directory it could not make (as in /proc): the first missing one.
    const deep = join(dir, "gone", "sub", "f.db");
    expect(said(fileError(errno("ENOENT"), deep, "write"))).toEqual({ message: `Cannot write ${deep}: ${join(dir, "gone")} does not exist and cannot be created.`, fix: "choose a path in a directory you can write to" });
    expect(said(fileError(errno("ENOENT"), join(dir, "f.db"), "write"))).toEqual({ message: `Cannot write ${join(dir, "f.db")}: nothing can be created in ${dir}.`, fix: "choose a path in a directory you can write to" });
  });

  test("permission denied says who owns what, and who claudemesh runs as", () => {
    const me = process.getuid!();
    const { uid } = statSync(dir);
    const facts = (p: string) => (me === 0 ? "the file system refuses it even to root" : `${p} belongs to uid ${uid}, mode ${(statSync(p).mode & 0o777).toString(8)}; claudemesh runs as uid ${me}`);
    // A read: the file itself; a write: the directory it goes into.
    expect(said(fileError(errno("EACCES"), file, "read", { what: "the claudemesh config" }))).toEqual({ message: `Cannot read the claudemesh config ${file}: permission denied (${facts(file)}).`, fix: `run claudemesh as the user that owns ${file}, or give this user read access to it` });
    expect(said(fileError(errno("EPERM"), join(dir, "new.cmbk"), "write", { what: "the backup" }))).toEqual({ message: `Cannot write the backup ${join(dir, "new.cmbk")}: permission denied (${facts(dir)}).`, fix: `choose a place you can write to, or get write access to ${dir}` });
    // A path below one this user may not look into: the nearest one it can.
    expect(said(fileError(errno("EACCES"), join(dir, "locked", "config.json"), "read"))).toEqual({ message: `Cannot read ${join(dir, "locked", "config.json")}: permission denied (${facts(dir)}).`, fix: `run claudemesh as the user that owns ${dir}, or give this user read access to it` });
  });

  test("the disk's own refusals, each with its next step", () => {
    const cases: [string, string, string | null][] = [
      ["EROFS", "the file system is read-only", "choose a path on a writable file system"],
      ["ENOSPC", "the disk is full", "free some space, then run this again"],
      ["EDQUOT", "your disk quota is used up", "free some space or raise the quota, then run this again"],
      ["ELOOP", "too many levels of symbolic links (a link that leads back to itself?)", "check the links on the path (ls -l)"],
      ["ENAMETOOLONG", "the path or one of its names is too long", "choose a shorter path"],
      ["EMFILE", "too many files are open", "close other programs, or raise the limit (ulimit -n), then run this again"],
      ["EIO", "the disk reported an I/O error", "check the disk (dmesg, SMART), then run this again"],
    ];
    for (const [code, why, fix] of cases) expect({ code, ...said(fileError(errno(code), "/srv/b.db", "write")) }).toEqual({ code, message: `Cannot write /srv/b.db: ${why}.`, fix });
    expect(said(fileError(errno("EBUSY"), "/srv/b.db", "read"))).toEqual({ message: "Cannot read /srv/b.db (EBUSY).", fix: null });
  });

  test("a caller's fix replaces the general one for its code; the cause is kept", () => {
    const err = fileError(errno("EISDIR"), "/c/config.json", "read", { fix: { EISDIR: "move it aside" } }) as LocalFileError;
    expect({ ...said(err), cause: (err.cause as Error).message }).toEqual({ message: "/c/config.json is a directory, not a file.", fix: "move it aside", cause: "EISDIR: raw text, open '/x'" });
  });

  test("anything but a file system error comes back unchanged; one wrapped as a cause is found", () => {
    const bug = new TypeError("x is undefined");
    expect(fileError(bug, "/x", "read")).toBe(bug);
    const network = Object.assign(new Error("refused"), { code: "ConnectionRefused" });
    expect(fileError(network, "/x", "read")).toBe(network);
    const wrapped = new Error("cannot open /srv/b.db: raw", { cause: errno("EROFS") });
    expect(errnoOf(wrapped)?.code).toBe("EROFS");
    expect(said(fileError(wrapped, "/srv/b.db", "write"))).toEqual({ message: "Cannot write /srv/b.db: the file system is read-only.", fix: "choose a path on a writable file system" });
  });

  test("unworded: an error no call site worded is still said in words, from its path and syscall", () => {
    expect(said(unworded(errno("EROFS", "/srv/x", "mkdir")))).toEqual({ message: "Cannot create the directory /srv/x: the file system is read-only.", fix: "choose a path on a writable file system" });
    expect(said(unworded(errno("ENOSPC", "/srv/x", "write")))).toEqual({ message: "Cannot write /srv/x: the disk is full.", fix: "free some space, then run this again" });
    // No path to name: left to the generic report.
    expect(unworded(Object.assign(new Error("EISDIR: illegal operation on a directory, read"), { code: "EISDIR", syscall: "read" }))).toBeNull();
  });
});

describe("parseJsonText", () => {
  test("says where a file stops being JSON, and what Bun expected there", () => {
    expect(parseJsonText('{\n  "hooks": {},\n}\n')).toEqual({ ok: false, problem: "is not valid JSON (line 3, column 1: property name must be a string literal)" });
    expect(parseJsonText("garbage")).toEqual({ ok: false, problem: "is not valid JSON (line 1, column 1: unexpected identifier …)" });
    expect(parseJsonText('{"a": [1, 2')).toEqual({ ok: false, problem: "is not valid JSON (line 1, column 12: expected ']')" });
    expect(parseJsonText(" \n")).toEqual({ ok: false, problem: "is empty" });
    expect(parseJsonText('{"a": [1, {"b": null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] } });
  });

  test("never repeats the file's text: a config.json that lost a quote does not show its secret key", () => {
    const secret = "ea1cc14e1c6d974daaa88a951c6978bdba9af333190b8282cadee79b0ef654b3";
    const r = parseJsonText(`{\n  "secretKey": ${secret}",\n  "x": 1\n}`);
    expect(r).toEqual({ ok: false, problem: "is not valid JSON (line 2, column 16: unexpected identifier …)" });
    expect(parseJsonText('["\\uZZZZ"]')).toEqual({ ok: false, problem: "is not valid JSON (line 1, column 4: … is not a valid unicode escape)" });
  });

  test("the scanner agrees with JSON.parse on what is JSON", () => {
    const texts = ['{"a":1,}', "[1,]", "{,}", '"\\u12"', '"a\\x"', "01", "-", "1.", "1e5", "-0.5E-3", "[1] x", '"\t"', "nul", "true false", '["é", "\\ud83d\\ude00"]', "{}", "[]", '{"a":{"b":[true,false,null]}}', '{"a" 1}', "\u00a0{}"];
    for (const text of texts) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect({ text, valid: jsonErrorAt(text) === null }).toEqual({ text, valid });
    }
  });
});
