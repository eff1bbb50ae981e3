// The checkpoint `audit verify` keeps (<config dir>/audit/<mesh id>.json, the head verified last)
// when it is damaged: refused with exit 5, the path, what is wrong and how to start a new one,
// before the broker is asked for anything. Garbage JSON was a raw "JSON Parse error" with exit 1;
// `{}` was read as a checkpoint and reported "the chain is shorter than the undefined entries
// verified before (truncated or rolled back)", an accusation against the operator.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, ok } from "../helpers/cli.ts";

describe("a damaged audit checkpoint", () => {
  test("garbage, {} and a directory are refused with the way to start again, which works", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice], mesh } = team;
    const path = join(alice, "audit", `${mesh.meshId}.json`);
    const fix = `  fix: move it aside (mv ${path} ${path}.aside), then run claudemesh audit verify again: it checks the chain on its own and saves a new checkpoint, but cannot compare it with the heads verified before\n`;
    ok(await cli(alice, ["audit", "verify"]));
    const cases: [text: string, problem: string][] = [
      ["garbage", 'it is not valid JSON (line 1, column 1: unexpected identifier …)'],
      ["{}", 'it does not hold a verified head ({"seq": …, "hash": …})'],
      ['{"seq": 3, "hash": "ab", "replaced": 7}', 'it does not hold a verified head ({"seq": …, "hash": …})'],
      ["", "it is empty"],
    ];
    for (const [text, problem] of cases) {
      writeFileSync(path, text, { mode: 0o600 });
      const r = await cli(alice, ["audit", "verify"]);
      expect({ text, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ text, code: 5, stdout: "", stderr: `claudemesh: The audit checkpoint ${path} is damaged: ${problem}.\n${fix}` });
      expect(readFileSync(path, "utf8")).toBe(text);
    }
    renameSync(path, `${path}.aside`);
    mkdirSync(path);
    const dir = await cli(alice, ["audit", "verify"]);
    expect({ code: dir.code, stderr: dir.stderr }).toEqual({ code: 5, stderr: `claudemesh: The audit checkpoint ${path} is a directory, not a file.\n  fix: move it aside (mv ${path} ${path}.aside), then run this again\n` });

    // The fix, followed: a new checkpoint, and verify is quiet again.
    renameSync(path, `${path}.aside2`);
    const again = await cli(alice, ["audit", "verify", "--json"]);
    expect({ code: again.code, ok: again.json().ok, checkpoint: again.json().checkpoint }).toEqual({ code: 0, ok: true, checkpoint: null });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  }, 60_000);
});
