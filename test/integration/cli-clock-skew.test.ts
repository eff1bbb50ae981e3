// A CLI whose clock is off by more than the hello's ±60 s (docs/protocol.md §2.3) is told which
// clock is ahead and what to do, on stderr and in --json's `fix`, with the documented exit 3. The
// clock is shifted for the CLI process alone, through libfaketime (test/helpers/faked-clock.ts).
import { expect, test } from "bun:test";
import { cli, cliTeam } from "../helpers/cli.ts";
import { fakedClock } from "../helpers/faked-clock.ts";
import { clockFix } from "../../src/client/refusal-fix.ts";

test("a clock 2 minutes ahead or behind gets a fix naming the direction; --json carries it", async () => {
  await using team = await cliTeam(["alice"]);
  for (const [offset, word] of [[120_000, "ahead of"], [-120_000, "behind"]] as const) {
    const r = await cli(team.dirs[0], ["peers"], { env: fakedClock(Date.now() + offset).env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`timestamp_skew.*\\n  fix: this machine's clock is 1(19|20|21) s ${word} the broker's: set this machine's clock right`));
    const j = await cli(team.dirs[0], ["peers", "--json"], { env: fakedClock(Date.now() + offset).env });
    expect(j.code).toBe(3);
    expect(j.json().error).toMatchObject({ code: "timestamp_skew" });
    expect(j.json().error.fix).toContain(`s ${word} the broker's`);
  }
});

test("without a number in the broker's words, the fix still says what to do", () => {
  expect(clockFix("The hello timestamp is more than 60 s from the broker clock.")).toStartWith("set this machine's clock right");
  expect(clockFix("Request timestamp is 95 s from the broker clock (limit ±60 s).")).toStartWith("this machine's clock is 95 s ahead of the broker's: ");
});

test("doctor gives a clock skew the clock's fix, not the broker URL's", async () => {
  await using team = await cliTeam(["alice"]);
  const r = await cli(team.dirs[0], ["doctor"], { env: fakedClock(Date.now() + 120_000).env });
  expect(r.code).toBe(5); // doctor's failed check: `refused`
  expect(r.stdout).toMatch(/FAIL \S+: broker: .*timestamp_skew.*\n {5}fix: this machine's clock is 1(19|20|21) s ahead of the broker's: set this machine's clock right/);
  expect(r.stdout).not.toContain("check the broker URL");
});
