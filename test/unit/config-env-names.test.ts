// Unknown CLAUDEMESH_* variables (src/config/env-names.ts): `serve` warns about each, with the
// name it most likely meant; every variable the code reads is known, so none is warned about.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { KNOWN_ENV, unknownEnv } from "../../src/config/env-names.ts";

const ROOT = resolve(import.meta.dir, "../..");
const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));

describe("unknown CLAUDEMESH_* variables", () => {
  test("a typo is named with what it meant; known and other variables pass", () => {
    expect(unknownEnv({ CLAUDEMESH_PROT: "80", CLAUDEMESH_PORT: "1", CLAUDEMESH_DATADIR: "/x", CLAUDEMESH_ZZZZZZZZZZZZ: "1", HOME: "/h", CLAUDEMESH_CONFIG_DIR: "/c" })).toEqual([
      { name: "CLAUDEMESH_DATADIR", meant: "CLAUDEMESH_DATA_DIR" },
      { name: "CLAUDEMESH_PROT", meant: "CLAUDEMESH_PORT" },
      { name: "CLAUDEMESH_ZZZZZZZZZZZZ", meant: null },
    ]);
  });

  test("every CLAUDEMESH_* name in src/, install.sh and scripts/ is known", () => {
    const text = [...files(join(ROOT, "src")).filter((f) => !f.endsWith("env-names.ts")), ...files(join(ROOT, "scripts")), join(ROOT, "install.sh")].map((f) => readFileSync(f, "utf8")).join("\n");
    const used = new Set(text.match(/CLAUDEMESH_[A-Z][A-Z_]*[A-Z]/g));
    expect([...used].filter((n) => !KNOWN_ENV.has(n)).sort()).toEqual([]);
  });
});
