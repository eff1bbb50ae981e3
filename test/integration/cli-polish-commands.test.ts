// Commands as a first-time user reads them (first-run review L9, L10, L14, L22): topic history
// shows the latest posts unless --after pages from an offset; `status` alone shows your status
// and summary, and an empty summary says it was cleared; inbox --all dates messages not from
// today; a member removed while following is told whether it was a ban or a kick, and a removed
// key's later commands say what happened without claiming which.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";

const DAY_MS = 86_400_000;


describe("topic history", () => {
  test("shows the latest --limit posts, oldest of them first; --after pages forward", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    for (const text of ["one", "two", "three", "four"]) ok(await cli(alice, ["topic", "post", "general", text]));
    const latest = ok(await cli(alice, ["topic", "history", "general", "--limit", "2"])).stdout.split("\n").filter(Boolean);
    expect(latest.map((l) => l.replace(/ \d\d:\d\d:\d\d .*:/, ""))).toEqual(["#3 three", "#4 four"]);
    const json = ok(await cli(alice, ["topic", "history", "general", "--limit", "3", "--json"])).json();
    expect({ last: json.lastOffset, offsets: json.messages.map((m: any) => m.message.topicOffset) }).toEqual({ last: 4, offsets: [2, 3, 4] });
    const paged = ok(await cli(alice, ["topic", "history", "general", "--after", "0", "--limit", "2", "--json"])).json();
    expect(paged.messages.map((m: any) => m.message.body)).toEqual(["one", "two"]);
    // At the last post: nothing after it. Past it: said so, and what it means if #100 was read here
    // before (the broker's historyLost: a broker restored from an older backup reuses offsets).
    expect(ok(await cli(alice, ["topic", "history", "general", "--after", "4"])).stdout).toBe("Nothing after #4: the last post of #general is #4.\n");
    expect(ok(await cli(alice, ["topic", "history", "general", "--after", "100"])).stdout).toBe(
      "Nothing after #100: the last post of #general is #4.\nIf you read #100 of this topic before, the broker has lost its later history (restored from an older backup) and numbers new posts from #5 again: resume with --after 4.\n",
    );
    expect(ok(await cli(alice, ["topic", "history", "general", "--after", "4", "--json"])).json()).toEqual({ topic: "general", lastOffset: 4, earliestOffset: 1, historyLost: false, messages: [] });
    expect(ok(await cli(alice, ["topic", "history", "general", "--after", "100", "--json"])).json()).toEqual({ topic: "general", lastOffset: 4, earliestOffset: 1, historyLost: true, messages: [] });
    // Offsets and limits in decimal digits only: Number() would read these as 16, 10 and 0.
    for (const [flag, value] of [["--after", "0x10"], ["--after", "1e1"], ["--after", ""], ["--limit", "0b11"]] as const) {
      const r = await cli(alice, ["topic", "history", "general", `${flag}=${value}`]);
      expect({ flag, value, code: r.code, stdout: r.stdout }).toEqual({ flag, value, code: 2, stdout: "" });
    }
    // More than there are: all of them.
    expect(ok(await cli(alice, ["topic", "history", "general", "--json"])).json().messages.map((m: any) => m.message.body)).toEqual(["one", "two", "three", "four"]);
    expect(ok(await cli(alice, ["topic", "history", "--help"])).stdout).toContain("most messages (default 50): the latest ones, or the first ones after --after");
  }, 60_000);
});

describe("status and summary", () => {
  test("status alone shows status and summary; summary \"\" says it was cleared", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const fresh = await cli(alice, ["status"]);
    expect({ code: fresh.code, stdout: fresh.stdout }).toEqual({ code: 0, stdout: "Status: idle.\nNo summary (set one with `claudemesh summary <text>`).\n" });
    ok(await cli(alice, ["summary", "migrating billing"]));
    // A `working` set from a terminal lasts while the key stays connected (a re-attach within the
    // presence grace keeps it); the command says so.
    expect(ok(await cli(alice, ["status", "working"])).stdout).toBe("Status: working. It lasts while this key stays connected (a Claude Code session's hooks set it for its own key); a later connection of the key starts idle. Use dnd for a status that stays.\n");
    expect(ok(await cli(alice, ["status"])).stdout).toBe("Status: working.\nSummary: migrating billing\n");
    expect(ok(await cli(alice, ["status", "--json"])).json()).toEqual({ status: "working", summary: "migrating billing" });
    const cleared = await cli(alice, ["summary", ""]);
    expect({ code: cleared.code, stdout: cleared.stdout }).toEqual({ code: 0, stdout: "Summary cleared.\n" });
    expect(ok(await cli(alice, ["status", "--json"])).json()).toEqual({ status: "working", summary: "" });
  }, 60_000);
});

describe("inbox --all", () => {
  test("dates the messages that are not from today", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob], mesh } = team;
    ok(await cli(alice, ["send", "bob", "old news"]));
    ok(await cli(bob, ["inbox"]));
    // Age the first message in bob's local log by two days, as if read back then.
    const log = join(bob, "messages", `${mesh.meshId}.jsonl`);
    const old = JSON.parse(readFileSync(log, "utf8").trim());
    const then = new Date(old.createdAt - 2 * DAY_MS).toISOString();
    writeFileSync(log, JSON.stringify({ ...old, createdAt: Date.parse(then) }) + "\n");
    ok(await cli(alice, ["send", "bob", "fresh"]));
    ok(await cli(bob, ["inbox"]));
    const lines = ok(await cli(bob, ["inbox", "--all"])).stdout.split("\n").filter(Boolean);
    expect(lines.map((l) => l.replace(/\(\w{12}\)/, "(key)"))).toEqual([`${then.slice(0, 10)} ${then.slice(11, 19)} "alice" (key): old news`, expect.stringMatching(/^\d\d:\d\d:\d\d "alice" \(key\): fresh$/)]);
  }, 60_000);
});

describe("removed members", () => {
  test("a follower is told it was banned, or kicked, and stops (exit 3)", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [alice, bob, carol], mesh } = team;
    for (const [who, dir, how] of [["bob", bob, "ban"], ["carol", carol, "kick"]] as const) {
      await using follower = cliStream(dir, ["inbox", "--follow"]);
      await until(() => follower.stderr().includes("Following"), `${who}'s follow banner`);
      ok(await cli(alice, [how, who]));
      const code = await follower.proc.exited;
      const said = follower.stderr().split("\n").find((l) => l.startsWith("claudemesh: "));
      expect({ who, code, said }).toEqual({
        who,
        code: 3,
        said:
          how === "ban"
            ? `claudemesh: You were banned from the mesh "${mesh.slug}" by an owner or admin; this key can never connect to it again. \`claudemesh leave ${mesh.slug} --yes\` forgets the mesh on this machine.`
            : `claudemesh: You were removed from the mesh "${mesh.slug}" by an owner or admin; this key can never connect to it again. They can invite you back with a new invite. \`claudemesh leave ${mesh.slug} --yes\` forgets the mesh on this machine.`,
      });
    }
    // Later, the broker refuses the key with `revoked`; its error frame says whether it was a ban,
    // and the CLI quotes it.
    const removed = (says: string) =>
      `claudemesh: You were removed from the mesh "${mesh.slug}" (you left, or an owner or admin kicked or banned you), and this key can never connect to it again. The broker says: "${says}" Only an owner or admin can let you back in, with a new invite. \`claudemesh leave ${mesh.slug} --yes\` forgets the mesh on this machine.\n`;
    const later = await cli(bob, ["send", "alice", "hi"]);
    expect({ code: later.code, stderr: later.stderr }).toEqual({ code: 3, stderr: removed("This member was banned from the mesh; its key can never connect again.") });
    const kicked = await cli(carol, ["send", "alice", "hi"]);
    expect({ code: kicked.code, stderr: kicked.stderr }).toEqual({ code: 3, stderr: removed("This member left or was removed from the mesh; its key can never connect again. Ask an owner or admin for a new invite.") });
    expect(ok(await cli(bob, ["leave", mesh.slug, "--yes"])).stdout).toContain("its keys are deleted");
  }, 60_000);
});

describe("peers' words on a terminal", () => {
  test("escape sequences, control characters and bidi overrides from other members never reach the screen; --json keeps them", async () => {
    // A peer's body cleared bob's screen and retitled his window; a summary reordered a line.
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    const hostile = "body \x1b[2J\x1b]0;pwned\x07 \u202eabc\u202c \x9b31m end";
    ok(await cli(alice, ["summary", "fixing \u202eexe.txt\u202c \x1b[31mred"]));
    ok(await cli(alice, ["topic", "create", "esc", "--description", "d \x1b[31m"]));
    ok(await cli(alice, ["send", "bob", hostile]));
    ok(await cli(alice, ["topic", "post", "general", `topic ${hostile}`]));
    const screens = [
      ok(await cli(bob, ["inbox"])).stdout,
      ok(await cli(bob, ["peers"])).stdout,
      ok(await cli(bob, ["topic", "list"])).stdout,
      ok(await cli(bob, ["topic", "history", "general"])).stdout,
    ];
    for (const s of screens) expect(s).not.toMatch(/[\x1b\x07\x9b\u202e\u202c]/);
    expect(screens[0]).toContain("body 0;pwned abc 31m end");
    expect(screens[1]).toContain('"fixing exe.txt red"');
    const json = ok(await cli(bob, ["inbox", "--all", "--json"])).json();
    expect(json.messages.map((m: { body: string }) => m.body)).toContain(hostile);
  }, 60_000);

  test("a topic's description cannot forge a line of `topic list`: it is shown quoted, on its own row", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    ok(await cli(alice, ["topic", "create", "deploys", "--description", 'x\n#payments             9 member(s)  no posts yet  joined  "Card payments'] ));
    const rows = ok(await cli(bob, ["topic", "list"])).stdout.trimEnd().split("\n");
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(["#deploys", "#general"]);
    expect(rows[0]).toEndWith(`—  ${JSON.stringify('x #payments 9 member(s) no posts yet joined "Card payments')}`);
  }, 60_000);
});

describe("topic post", () => {
  test("a topic name the broker would refuse is a usage error (exit 2, and JSON under --json), not a crash", async () => {
    await using team = await cliTeam(["alice"]);
    const [alice] = team.dirs;
    for (const topic of ["Bad Name", "", "x".repeat(70)]) {
      const r = await cli(alice, ["topic", "post", topic, "hi"]);
      expect({ topic, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ topic, code: 2, stdout: "", stderr: expect.stringMatching(/^claudemesh: The topic name/) });
      const json = await cli(alice, ["topic", "post", topic, "hi", "--json"]);
      expect({ topic, code: json.code, stderr: json.stderr, error: json.json().error.code }).toEqual({ topic, code: 2, stderr: "", error: "usage" });
    }
  }, 60_000);
});
