// The name rules (src/protocol/names.ts, docs/protocol.md §4.2): one list of characters no name may
// hold, checked here against the runtime's Unicode properties; the wire schemas built from it, read
// code unit by code unit as TypeBox reads them; and the session name the MCP server builds from a
// member name stored before the rules, which must still pass them.
import { expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { DisplayName, MeshName, SessionName } from "../../src/protocol/fields.ts";
import { escapeNotPrintable, nameProblem, NOT_PRINTABLE, sessionName } from "../../src/protocol/names.ts";

const REFERENCE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
const one = new RegExp(NOT_PRINTABLE.source, "u");

test("the refused characters are exactly Cc, Cf, Cs, Zl, Zp and Default_Ignorable_Code_Point, and the schema refuses each", () => {
  const disagree: string[] = [];
  const pattern = new RegExp(DisplayName.pattern!);
  for (let c = 0; c <= 0x10ffff; c++) {
    const ch = String.fromCodePoint(c);
    const refused = REFERENCE.test(ch);
    if (one.test(ch) !== refused) disagree.push(`list U+${c.toString(16)}`);
    // Between two letters, so that the white-space and first-character rules do not apply.
    if (ch !== ":" && ch !== "/" && !/\s/.test(ch) && pattern.test(`a${ch}b`) === refused) disagree.push(`pattern U+${c.toString(16)}`);
  }
  expect(disagree).toEqual([]);
});

test("the patterns also compile with the u flag, and still refuse every BMP character of the list", () => {
  for (const p of [DisplayName.pattern!, SessionName.pattern!, MeshName.pattern!]) {
    const u = new RegExp(p, "u");
    expect(["a\u200bb", "a\u202eb", "a\u009bb", "a\u2028b"].filter((n) => u.test(n))).toEqual([]);
    expect(u.test("Alice K")).toBe(true);
  }
});

test("display names: visible text, nothing that reads as an address", () => {
  const takes = (n: string) => Value.Check(DisplayName, n);
  expect(["carol", "Alice K", "田中太郎", "Jose\u0301", "👍 bob", "me (you)", "a-b_c.d", "x*", "a#b", "b@c"].filter((n) => !takes(n))).toEqual([]);
  const refused = ["c\u200barol", "\u202eevil", "x\u009b31mred", "a\u2028b", "a\udb40\udc41", "a\ud800", "lab:bob", "a/b", "*", "#ops", "@dev", " bob", "bob ", "a\tb", ""];
  expect(refused.filter(takes)).toEqual([]);
  expect(refused.slice(0, 11).map((n) => nameProblem(n, "display"))).toEqual([
    "holds U+200B, a control, invisible or text-direction character",
    "holds U+202E, a control, invisible or text-direction character",
    "holds U+009B, a control, invisible or text-direction character",
    "holds U+2028, a control, invisible or text-direction character",
    "holds U+E0041, a control, invisible or text-direction character",
    "holds U+D800, a control, invisible or text-direction character",
    'holds ":", which makes it read as a mesh prefix ("lab:bob" is bob in mesh lab)',
    'holds "/", which makes it read as a session ("a/b" is session b of member a)',
    'is "*", which means everyone',
    'starts with "#", which makes it read as a topic',
    'starts with "@", which makes it read as a group',
  ]);
});

test("session names: a display name, then / and a label that may hold : and /", () => {
  expect(["alice/api", "alice/a:b", "alice/x/y", "alice"].filter((n) => !Value.Check(SessionName, n))).toEqual([]);
  expect(["lab:bob/x", "#ops/x", "c\u200barol/x", "alice/a\u200bb", "alice/x "].filter((n) => Value.Check(SessionName, n))).toEqual([]);
  expect(["Shop: team", "a/b"].filter((n) => !Value.Check(MeshName, n))).toEqual([]);
});

test("sessionName passes SessionName for any member name stored before the rules, escaping what they refuse", () => {
  const members = ["carol", "c\u200barol", "lab:bob", "#ops", "@dev", "*", " x ", "a/b", "\u202eevil", "田".repeat(64), `${"x".repeat(62)}👍`, "a\udb40\udc41"];
  for (const m of members) for (const label of ["api", "my project", "x".repeat(32)]) expect({ m, label, ok: Value.Check(SessionName, sessionName(m, label)) }).toEqual({ m, label, ok: true });
  expect(sessionName("c\u200barol", "api")).toBe("c\\u200barol/api");
  expect(sessionName("lab:bob", "api")).toBe("lab\\u003abob/api");
  expect(sessionName("alice", "api")).toBe("alice/api");
  expect(escapeNotPrintable("a\u200bb\udb40\udc41")).toBe("a\\u200bb\\udb40\\udc41");
});
