// A message counts as read only once stdout has taken it (user-journey review, session 18):
// `inbox | head -c 100` and `inbox > /dev/full` exited 0 with every message marked read, and
// `inbox --follow | head -1` never exited and kept acking what it could not write. Now what stdout
// did not take stays unread (a later `inbox` shows it), a reader that quits ends the command with
// exit 0 and a line on stderr (a follower as soon as the reader has quit, session 36), and any
// other failed write (ENOSPC) is exit 5 for every command.
// The real CLI as a subprocess in a shell pipeline, against a real broker.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ok, until } from "../helpers/cli.ts";
import { linkedTeam as team, shell } from "../helpers/cli-pipe.ts";

const bodies = (r: { json(): { messages: { body: string }[] } }) => r.json().messages.map((m) => m.body.split(" ")[0]);

test("what stdout did not take stays unread: a reader that quits is exit 0, a full disk exit 5, and a normal inbox still acks", async () => {
  await using t = await team();
  const N = 40;
  for (let i = 0; i < N; i++) await t.send(`m${i} ${"x".repeat(4000)}`);
  const run = async (args: string[], tail: string) => {
    await using s = shell(t.bob, t.root, args, tail);
    return await s.done();
  };

  // One JSON document: cut short, none of it counts as read.
  const json = await run(["inbox", "--json"], "| head -c 100 > /dev/null");
  expect(json).toEqual({ code: 0, stderr: expect.stringContaining("stdout took 0 message(s)") });
  const full = await run(["inbox"], "> /dev/full");
  expect(full.code).toBe(5);
  expect(full.stderr).toContain("could not write the output to stdout: ENOSPC");
  expect(full.stderr).toContain("stdout took 0 message(s)");

  // Line by line: what the pipe took (at most its 64 KiB, about 16 of these) is read; the rest not.
  const head = await run(["inbox"], "| head -c 100 > /dev/null");
  expect(head).toEqual({ code: 0, stderr: expect.stringMatching(/stdout took \d+ message\(s\) before it closed or failed; the rest stay unread/) });
  const rest = bodies(ok(await cli(t.bob, ["inbox", "--json"])));
  expect(rest.length).toBeGreaterThanOrEqual(20);
  expect(rest).toEqual(Array.from({ length: rest.length }, (_, i) => `m${N - rest.length + i}`));

  // That inbox acked them all, and every message was recorded once.
  expect(ok(await cli(t.bob, ["inbox"])).stdout).toBe("No new messages.\n");
  expect(bodies(ok(await cli(t.bob, ["inbox", "--all", "--limit", "100", "--json"])))).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
}, 90_000);

// Once head has quit the follower ends by itself, without a message to write first: it used to
// learn of it only from its next write's EPIPE, and the shell waited for it meanwhile
// (`msg=$(claudemesh inbox --follow | head -1)` did not return until a second message came).
test("inbox --follow | head -1 ends once head has quit, and what comes after stays unread", async () => {
  await using t = await team();
  await using follow = shell(t.bob, t.root, ["inbox", "--follow"], `| { head -1 > '${join(t.root, "head")}'; echo HEAD-DONE >&2; }`);
  await until(() => follow.stderr().includes("Following"), "the follower to start");
  await t.send("first");
  await until(() => follow.stderr().includes("HEAD-DONE"), "head to print one line and exit");
  await until(follow.exited, "the follower to exit once its reader had quit", 10_000);
  const r = await follow.done();
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("stdout took 1 message(s)");
  expect(readFileSync(join(t.root, "head"), "utf8")).toContain("first");
  await t.send("second");
  expect(bodies(ok(await cli(t.bob, ["inbox", "--json"])))).toEqual(["second"]);
}, 60_000);

test("every command reports a stdout it cannot write with exit 5", async () => {
  await using t = await team();
  for (const args of [["whoami"], ["whoami", "--json"], ["--version"], ["peers"], ["send", "--help"]]) {
    await using s = shell(t.bob, t.root, args, "> /dev/full");
    const r = await s.done();
    expect({ args, code: r.code, said: r.stderr.includes("could not write the output to stdout: ENOSPC") }).toEqual({ args, code: 5, said: true });
  }
}, 60_000);
