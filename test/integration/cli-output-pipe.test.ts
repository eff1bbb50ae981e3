// Output to a pipe whose reader is slower than the command (a pager, `| (sleep 1; wc -c)`): a pipe
// holds 64 KiB, and exiting with more than that still buffered dropped the rest with exit 0 — an
// inbox whose messages were then marked read, and --json that no longer parsed (walkthrough review,
// session 14). Every byte reaches the reader now; a reader that quits early (`| head`) ends the
// command without an error.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { MAIN, cli, cliEnv, cliTeam, ok } from "../helpers/cli.ts";

/** Runs `claudemesh <args>` with stdout into a pipe read only after a second; returns what the
 *  reader got and the command's exit code. */
async function throughSlowPipe(configDir: string, args: string[], reader = "sleep 1; cat") {
  const out = join(tempDir("cm-pipe-"), "out");
  const words = [process.execPath, "run", MAIN, ...args].map((w) => `'${w}'`).join(" ");
  const p = Bun.spawn(["sh", "-c", `{ ${words}; echo $? > '${out}.code'; } | { ${reader}; } > '${out}'`], { env: cliEnv(configDir), stdout: "ignore", stderr: "pipe" });
  await p.exited;
  return { text: readFileSync(out, "utf8"), code: Number(readFileSync(`${out}.code`, "utf8").trim()), stderr: await new Response(p.stderr).text() };
}

test("inbox and inbox --json to a slow pipe deliver every message whole; a reader that quits early is no error", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [alice, bob] } = team;
  const body = (tag: string) => `${"x".repeat(40_000)} END-${tag}`;
  for (const tag of ["ONE", "TWO"]) ok(await cli(alice!, ["send", "bob", "-"], { stdin: body(tag) }));

  const plain = await throughSlowPipe(bob!, ["inbox"]);
  expect({ code: plain.code, one: plain.text.includes("END-ONE"), two: plain.text.includes("END-TWO") }).toEqual({ code: 0, one: true, two: true });
  expect(plain.text.length).toBeGreaterThan(80_000);

  const json = await throughSlowPipe(bob!, ["inbox", "--all", "--json"]);
  expect(json.code).toBe(0);
  expect((JSON.parse(json.text).messages as { body: string }[]).map((m) => m.body.slice(-7))).toEqual(["END-ONE", "END-TWO"]);

  const early = await throughSlowPipe(bob!, ["inbox", "--all"], "head -c 10 > /dev/null");
  expect({ code: early.code, stderr: early.stderr }).toEqual({ code: 0, stderr: "" });
}, 60_000);
