// The dependency direction of DESIGN.md §5, and "each third-party library lives in one place".
// Reads every import in src/ and fails on an edge the architecture does not allow.
import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** Which of our modules each module may import (leaf modules import none). */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  crypto: [],
  log: [],
  // Local file errors in a user's words (LocalFileError), for every module that touches files.
  "local-file": [],
  // "Did you mean …?" for every name a person types: flags (config), commands (cli), topics and
  // peers (client, so that the MCP tools give the same hints as the CLI).
  "did-you-mean": [],
  // A URL without its user name, password, query or fragment, for errors and logs (config, client).
  "shown-url": [],
  // Tables whose keys churn at message rate, without Map's promotion (store and broker hot paths).
  "key-table": [],
  config: ["local-file", "did-you-mean", "shown-url"],
  store: ["protocol", "crypto", "workers", "key-table"],
  broker: ["store", "crypto", "protocol", "config", "log", "version", "local-file", "key-table"],
  client: ["protocol", "crypto", "local-file", "did-you-mean", "shown-url"],
  mcp: ["client", "protocol", "crypto", "config", "log", "version", "local-file"],
  cli: ["client", "broker", "mcp", "config", "log", "protocol", "crypto", "version", "local-file", "did-you-mean"],
  main: ["cli"],
  version: [],
  assets: [],
  workers: [],
};

/** Third-party packages and the one module allowed to import each. */
const OWNER: Record<string, string> = {
  elysia: "broker",
  "@elysiajs/swagger": "broker",
  "prom-client": "broker",
  "bun:sqlite": "store",
  citty: "cli",
  consola: "cli",
  "@modelcontextprotocol/sdk": "mcp",
  zod: "mcp",
  "libsodium-wrappers": "crypto",
  "@sinclair/typebox": "protocol",
};

const moduleOf = (file: string) => relative(SRC, file).split("/")[0]!.replace(/\.(d\.)?ts$/, "");

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

const files = [...new Glob("**/*.ts").scanSync(SRC)].map((f) => join(SRC, f));

describe("architecture", () => {
  test("every src/ module is known to the table", () => {
    expect([...new Set(files.map(moduleOf))].filter((m) => !(m in ALLOWED))).toEqual([]);
  });

  test("imports follow the dependency direction", () => {
    const bad: string[] = [];
    // The scanner must see the imports at all, or this test could never fail.
    expect(files.flatMap(imports).filter((s) => s.startsWith(".")).length).toBeGreaterThan(100);
    for (const f of files) {
      const from = moduleOf(f);
      for (const spec of imports(f)) {
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(f), spec);
        if (!target.startsWith(SRC)) continue; // package.json, node_modules assets, migrations
        const to = moduleOf(target);
        if (to !== from && !ALLOWED[from]!.includes(to)) bad.push(`${relative(SRC, f)} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("each third-party library is imported by one module only", () => {
    const bad: string[] = [];
    for (const f of files) {
      for (const spec of imports(f)) {
        const pkg = Object.keys(OWNER).find((p) => spec === p || spec.startsWith(`${p}/`));
        if (pkg && moduleOf(f) !== OWNER[pkg]) bad.push(`${relative(SRC, f)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("the conformance client and its tests import nothing of src/, only the helper that starts the broker", () => {
    // docs/protocol.md promises a client written from the document alone: test/conformance/.
    const dir = resolve(SRC, "../test/conformance");
    const own = [...new Glob("*.ts").scanSync(dir)].map((f) => join(dir, f));
    expect(own.length).toBeGreaterThan(5);
    const allowed = (spec: string) => dirname(resolve(dir, spec)) === dir || spec === "../helpers/broker.ts";
    const outside = own.flatMap((f) => imports(f).filter((s) => s.startsWith(".") && !allowed(s)).map((s) => `${relative(dir, f)} → ${s}`));
    expect(outside).toEqual([]);
  });

  test("the environment is read only in src/config/", () => {
    const readers = files.filter((f) => moduleOf(f) !== "config" && /process\.env|Bun\.env/.test(readFileSync(f, "utf8")));
    expect(readers.map((f) => relative(SRC, f))).toEqual([]);
  });
});
