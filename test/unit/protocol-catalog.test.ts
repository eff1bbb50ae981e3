// Pins the tables of docs/protocol.md (§4.2.1 look-alikes, §7.1 errors, §7.2 close codes, §8 limits
// and defaults) to the code they describe: src/protocol/name-compare.ts, errors.ts, close-codes.ts,
// limits.ts and src/config/spec.ts.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ERRORS } from "../../src/protocol/errors.ts";
import { CloseCode, shouldReconnect } from "../../src/protocol/close-codes.ts";
import * as Limits from "../../src/protocol/limits.ts";
import { SETTINGS } from "../../src/config/spec.ts";
import { LOOK_ALIKE_ASCII, LOOK_ALIKE_CAPITALS, LOOK_ALIKE_FIRST, LOOK_ALIKE_SMALL, NAME_RULE, letterSkeleton, nameSkeleton } from "../../src/protocol/name-compare.ts";

const DOC = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");

/** Body rows of the markdown table between <!-- table:name --> and <!-- /table:name -->, as
 *  trimmed cells with surrounding backticks removed. */
function table(name: string): string[][] {
  const start = DOC.indexOf(`<!-- table:${name} -->`);
  const end = DOC.indexOf(`<!-- /table:${name} -->`);
  if (start < 0 || end < start) throw new Error(`docs/protocol.md has no table ${name}`);
  const rows = DOC.slice(start, end)
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) =>
      l
        .slice(1, l.trimEnd().endsWith("|") ? l.trimEnd().length - 1 : undefined)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/^`(.*)`$/, "$1")),
    );
  return rows.slice(2); // header and separator
}

const normalise = (s: string) => s.replace(/\s+/g, " ").trim();

describe("error catalog (§7.1)", () => {
  const rows = table("errors");

  test("every code appears exactly once, and no other", () => {
    const codes = rows.map((r) => r[0]);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
    expect([...codes].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  for (const [code, spec] of Object.entries(ERRORS)) {
    test(code, () => {
      const row = rows.find((r) => r[0] === code)!;
      expect({ http: Number(row[1]), retryable: row[2], exit: Number(row[3]), meaning: normalise(row[4]!) }).toEqual({
        http: spec.http,
        retryable: spec.retryable ? "yes" : "no",
        exit: spec.exit,
        meaning: normalise(spec.doc),
      });
    });
  }
});

describe("where each error comes from (§7.1)", () => {
  test("every code of the catalog is named in at least one group (`invite_*` names every invite_ code)", () => {
    const text = DOC.slice(DOC.indexOf("<!-- table:error-sources -->"), DOC.indexOf("<!-- /table:error-sources -->"));
    expect(table("error-sources").length).toBeGreaterThan(5);
    const named = [...text.matchAll(/`([a-z_]+\*?)`/g)].map((m) => m[1]!);
    const covered = (code: string) => named.some((n) => (n.endsWith("*") ? code.startsWith(n.slice(0, -1)) : n === code));
    expect(Object.keys(ERRORS).filter((c) => !covered(c))).toEqual([]);
  });

  // A client writer reads the groups to know what a request can answer: every code that §4.3's
  // requests name in their "Errors:" lists must be in the requests row (or, for the schema codes,
  // the framing row). Session 36: `unsupported_version` (invite_create without keySignature) was not.
  test("every code a §4.3 request lists under Errors is in the requests or framing group", () => {
    const text = DOC.slice(DOC.indexOf("<!-- table:error-sources -->"), DOC.indexOf("<!-- /table:error-sources -->"));
    const row = (group: string) => text.split("\n").find((l) => l.startsWith(`| ${group}`)) ?? "";
    const grouped = new Set([...`${row("requests")} ${row("framing")}`.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
    const frames = DOC.slice(DOC.indexOf("### 4.3 Client frames"), DOC.indexOf("### 4.4 Broker frames"));
    const listed = new Set<string>();
    for (const para of frames.split(/\n\s*\n/)) {
      const at = para.search(/\bErrors?:/);
      if (at < 0) continue;
      for (const m of para.slice(at).matchAll(/`([a-z_]+)`/g)) if (m[1]! in ERRORS) listed.add(m[1]!);
    }
    expect(listed.size).toBeGreaterThan(10);
    expect([...listed].filter((code) => !grouped.has(code)).sort()).toEqual([]);
  });
});

describe("close codes (§7.2)", () => {
  const rows = table("close-codes");

  test("every CloseCode appears once with its name, and no other", () => {
    expect(rows.map((r) => [Number(r[0]), r[1]]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual(
      Object.entries(CloseCode)
        .map(([name, code]) => [code, name])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
  });

  test("what the client does agrees with the code's range", () => {
    for (const r of rows) {
      const code = Number(r[0]);
      const action = r[4]!;
      if (code >= 4000 && code < 4100) expect({ code, action, reconnect: shouldReconnect(code) }).toEqual({ code, action: expect.stringMatching(/^stop/), reconnect: false });
      if (code >= 4100 && code < 4200) expect({ code, action, reconnect: shouldReconnect(code) }).toEqual({ code, action: expect.stringMatching(/^reconnect/), reconnect: true });
    }
  });
});

describe("name rule (§4.2.1)", () => {
  test("the look-alikes table is the one nameSkeleton maps, under the rule number the code reports", () => {
    const mappings = (cell: string) => Object.fromEntries(cell.split(" ").map((m) => /^U\+([0-9A-F]{4,5})→(.)$/.exec(m)!).map(([, cp, to]) => [String.fromCodePoint(parseInt(cp!, 16)), to!]));
    const [first, capitals, small, ascii] = table("look-alikes");
    expect([mappings(first![1]!), mappings(capitals![1]!), mappings(small![1]!)]).toEqual([LOOK_ALIKE_FIRST, LOOK_ALIKE_CAPITALS, LOOK_ALIKE_SMALL]);
    // Session 39: the ASCII look-alikes, some of them written as two letters.
    const pairs = (cell: string) => Object.fromEntries(cell.split(" ").map((m) => /^U\+([0-9A-F]{4})→([a-z]{1,2})$/.exec(m)!).map(([, cp, to]) => [String.fromCodePoint(parseInt(cp!, 16)), to!]));
    expect(pairs(ascii![1]!)).toEqual(LOOK_ALIKE_ASCII);
    expect(DOC).toContain(`#### 4.2.1 How names are compared (name rule ${NAME_RULE})`);
  });

  test("the names the prose says compare equal do", () => {
    const same = ["carol", "Carol", "car\u200dol", "\u0441\u0430rol", "\uff43\uff41\uff52\uff4f\uff4c"].map(nameSkeleton);
    expect(new Set(same).size).toBe(1);
    expect(nameSkeleton("Jos\u00e9")).toBe(nameSkeleton("Jose\u0301"));
    expect(nameSkeleton("stra\u00dfe")).toBe(nameSkeleton("STRASSE"));
    // Session 39: the ASCII look-alikes compare equal too, but are not the same letters.
    const alike = ["alice", "a1ice", "aIice"];
    expect(new Set(alike.map(nameSkeleton)).size).toBe(1);
    expect(new Set(alike.map(letterSkeleton)).size).toBe(3);
    expect([nameSkeleton("mallory"), nameSkeleton("rnallory")]).toEqual(["rnallory", "rnallory"]);
  });
});

describe("limits (§8.1)", () => {
  const rows = table("limits");
  const exported = Object.entries(Limits).filter((e): e is [string, number] => typeof e[1] === "number");

  test("every constant of limits.ts appears once with its value, and no other", () => {
    expect(exported.length).toBeGreaterThan(10);
    expect(rows.map((r) => [r[0], Number(r[1])]).sort()).toEqual(exported.map(([k, v]) => [k, v]).sort());
  });

  test("the prose quotes the same values", () => {
    expect(Limits.MAX_FRAME_BYTES).toBe(64 * 1024);
    expect(DOC).toContain("65 536 bytes");
    expect(DOC).toContain(`at most ${Limits.MAX_JSON_DEPTH} nested`);
    expect(DOC).toContain(`${Limits.HELLO_SKEW_MS.toLocaleString("en").replace(",", " ")} ms`);
    expect(DOC).toContain(`(${Limits.MAX_ATTESTATION_TTL_MS.toLocaleString("en").replaceAll(",", " ")} ms)`);
    expect(DOC).toContain(`The protocol version is \`${Limits.PROTOCOL_VERSION}\``);
  });
});

describe("broker defaults (§8.2)", () => {
  const rows = table("broker-defaults");

  test("every listed setting has the default of src/config/spec.ts", () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) {
      const s = SETTINGS.find((x) => x.key === r[0]);
      expect({ key: r[0], known: s !== undefined, value: Number(r[1]) }).toEqual({ key: r[0], known: true, value: s?.default as number });
    }
  });
});
