// `claudemesh topic list` names a topic's last offset for what it is. `topic_list` answers
// `lastOffset` (docs/protocol.md §4.3.12), which counts every post ever made to the topic; the
// broker keeps only the latest `topicHistory` of them (§4.3.15), and the answer says nothing of how
// many are kept. The line said "N message(s)", read as N posts there to read.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";

describe("cli topic list", () => {
  test("a topic's last offset is said as the number of its last post, not as a count of messages the broker no longer keeps", async () => {
    await using team = await cliTeam(["alice", "bob"], { topicHistory: 3 });
    const [alice, bob] = team.dirs;
    // A topic of alice's alone: no other mailbox holds its posts, so each post trims the oldest.
    ok(await cli(alice, ["topic", "create", "deploys"]));
    for (let i = 1; i <= 5; i++) ok(await cli(alice, ["topic", "post", "deploys", `post ${i}`]));
    expect(ok(await cli(alice, ["topic", "history", "deploys"])).stdout.split("\n").map((l) => l.split(" ")[0])).toEqual(["#3", "#4", "#5", ""]);
    const listed = ok(await cli(bob, ["topic", "list"])).stdout;
    expect(listed.split("\n").map((l) => l.replace(/ +/g, " "))).toEqual(["#deploys 1 member(s) last post #5 —", `#general 2 member(s) no posts yet joined "Everyone in the mesh"`, ""]);
    expect(ok(await cli(bob, ["topic", "list", "--json"])).json().topics.map((t: { name: string; lastOffset: number }) => [t.name, t.lastOffset])).toEqual([["deploys", 5], ["general", 0]]);
  }, 60_000);
});
