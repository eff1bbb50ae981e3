// src/cli/input-checks.ts: user text is refused with the flag or argument it came from and the
// protocol bound it breaks, by the bounds the broker's own schemas apply (no second copy of a
// number); and src/cli/mesh-choice.ts's reading of a "slug:" prefix that names no joined mesh.
import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { checkText, FIELDS } from "../../src/cli/input-checks.ts";
import { unknownMesh, unknownMeshPrefix } from "../../src/cli/mesh-choice.ts";
import * as L from "../../src/protocol/limits.ts";
import type { LocalConfig } from "../../src/client/local/config-file.ts";

/** The message checkText throws for `value`, or null when it takes it. */
function refusal(value: string, label: string, field: (typeof FIELDS)[keyof typeof FIELDS]): string | null {
  try {
    checkText(value, label, field);
    return null;
  } catch (err) {
    expect((err as Error).name).toBe("UsageError");
    return (err as Error).message;
  }
}

describe("checkText", () => {
  test("says the length and the limit, naming where the text came from", () => {
    expect(refusal("x".repeat(L.MAX_SUMMARY_LEN + 1), "The summary", FIELDS.summary)).toBe(`The summary is ${L.MAX_SUMMARY_LEN + 1} characters; the limit is ${L.MAX_SUMMARY_LEN}.`);
    expect(refusal("x".repeat(L.MAX_DESCRIPTION_LEN + 1), "--description", FIELDS.description)).toBe(`--description is ${L.MAX_DESCRIPTION_LEN + 1} characters; the limit is ${L.MAX_DESCRIPTION_LEN}.`);
    expect(refusal("s".repeat(L.MAX_SLUG_LEN + 1), "--slug", FIELDS.slug)).toBe(`--slug is ${L.MAX_SLUG_LEN + 1} characters; the limit is ${L.MAX_SLUG_LEN}.`);
    expect(refusal("", "The mesh name", FIELDS.meshName)).toBe(`The mesh name is empty; it takes 1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team").`);
    const takes = `it takes 1–${L.MAX_NAME_LEN} characters of visible text, without ":" or "/" and not starting with "#" or "@" (e.g. "Alice K").`;
    expect(refusal("a\u0007b", "--display-name", FIELDS.displayName)).toBe(`--display-name holds U+0007, a control, invisible or text-direction character; ${takes}`);
    expect(refusal("c\u200barol", "--display-name", FIELDS.displayName)).toBe(`--display-name holds U+200B, a control, invisible or text-direction character; ${takes}`);
    expect(refusal("lab:bob", "--display-name", FIELDS.displayName)).toBe(`--display-name holds ":", which makes it read as a mesh prefix ("lab:bob" is bob in mesh lab); ${takes}`);
    expect(refusal("a\u202eb", "The mesh name", FIELDS.meshName)).toBe(`The mesh name holds U+202E, a control, invisible or text-direction character; it takes 1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team").`);
    expect(refusal("Front End!", "The group name", FIELDS.group)).toBe('The group name "Front End!" is not allowed; it takes lowercase letters, digits, -, _ and /, starting with a letter or digit (e.g. frontend).');
  });

  test("takes exactly what the broker's schema takes, at and around every bound", () => {
    const cases: [keyof typeof FIELDS, number][] = [
      ["summary", L.MAX_SUMMARY_LEN],
      ["description", L.MAX_DESCRIPTION_LEN],
      ["reason", L.MAX_REASON_LEN],
      ["meshName", L.MAX_NAME_LEN],
      ["displayName", L.MAX_NAME_LEN],
      ["slug", L.MAX_SLUG_LEN],
      ["topic", L.MAX_TOPIC_NAME_LEN],
      ["group", L.MAX_GROUP_NAME_LEN],
    ];
    for (const [key, max] of cases) {
      const field = FIELDS[key];
      for (const value of ["a".repeat(max), "a".repeat(max + 1), "", "a", "-a", "A", "a b", "a\nb", "a/b", "a_b"]) {
        expect({ key, value, taken: refusal(value, key, field) === null }).toEqual({ key, value, taken: Value.Check(field.schema, value) });
      }
    }
  });
});

describe("a mesh prefix that names no joined mesh", () => {
  const cfg = { meshes: [{ slug: "team-x" }, { slug: "ops" }] } as unknown as LocalConfig;

  test("is a slug-shaped word before the first ':' that is not a joined slug", () => {
    const got = Object.fromEntries(["nomesh:bob", "team-x:bob", "bob", ":bob", "Dev Team:bob", "nomesh:ops:bob"].map((t) => [t, unknownMeshPrefix(cfg, t)]));
    expect(got).toEqual({ "nomesh:bob": "nomesh", "team-x:bob": null, bob: null, ":bob": null, "Dev Team:bob": null, "nomesh:ops:bob": "nomesh" });
  });

  test("is refused as an unknown mesh (not found), listing the meshes joined", () => {
    const err = unknownMesh(cfg, "nomesh:bob", "nomesh", true);
    expect({ code: err.code, message: err.message }).toEqual({ code: "not_found", message: 'No peer matches "nomesh:bob", and "nomesh" is not a mesh you are in (you are in: team-x, ops). The part before ":" names the mesh, as in team-x:bob.' });
    expect(unknownMesh(cfg, "nomesh:bob", "nomesh", false).message).toBe('"nomesh" is not a mesh you are in (you are in: team-x, ops). The part before ":" names the mesh, as in team-x:bob. If "nomesh:bob" is a peer\'s name, choose the mesh with --mesh <slug>.');
  });
});
