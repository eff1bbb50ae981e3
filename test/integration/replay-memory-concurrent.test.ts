// The machine's replay memory (seen/<mesh>.machine.json, src/client/local/machine-memory.ts) is
// changed by every Claude Code session's MCP server, often at the same moment: each adds what it
// read under a lock, read–modify–write, so that no session's pairs are lost and the file is
// never left half written.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { randomId } from "../../src/crypto/hash.ts";

const SHARER = join(import.meta.dir, "../fixtures/replay-sharer.ts");
const hex = (n: number) => n.toString(16).padStart(64, "0");

describe("the machine's replay memory", () => {
  test("four sessions saving 40 times each at the same time: all 160 pairs are kept, each session's file holds its own", async () => {
    const dir = tempDir("cm-share-");
    const meshId = randomId();
    const scopes = ["a", "b", "c", "d"].map((c) => c.repeat(16));
    // Two wait for the lock blocking (a server's last save at exit), two on the event loop.
    const procs = scopes.map((scope, p) => Bun.spawn([process.execPath, SHARER, dir, meshId, scope, hex(p + 1), "40", p % 2 ? "async" : "sync"], { stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect({ codes, stderr: await Promise.all(procs.map((p) => new Response(p.stderr).text())) }).toEqual({ codes: [0, 0, 0, 0], stderr: ["", "", "", ""] });

    const pairs = (name: string) => (JSON.parse(readFileSync(join(dir, "seen", name), "utf8")) as { seen: [string, string][] }).seen;
    const machine = pairs(`${meshId}.machine.json`);
    const bySender = (list: [string, string][]) => [1, 2, 3, 4].map((p) => list.filter(([s]) => s === hex(p)).length);
    expect({ total: machine.length, bySender: bySender(machine), distinct: new Set(machine.map((p) => p.join("|"))).size }).toEqual({ total: 160, bySender: [40, 40, 40, 40], distinct: 160 });
    expect(scopes.map((s) => bySender(pairs(`${meshId}.${s}.json`)))).toEqual([[40, 0, 0, 0], [0, 40, 0, 0], [0, 0, 40, 0], [0, 0, 0, 40]]);
    // No lock and no temp file left behind.
    expect(readdirSync(join(dir, "seen")).sort()).toEqual([`${meshId}.machine.json`, ...scopes.map((s) => `${meshId}.${s}.json`)].sort());
  }, 60_000);
});
