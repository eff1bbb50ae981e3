// How the CLI fails: one line on stderr (or {"error":{…}} on stdout with --json), a hint when there
// is an obvious next step, and the documented exit code: 2 usage, 3 auth, 4 not found, 5 refused,
// 6 unavailable.
import { describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, cliTeam } from "../helpers/cli.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

describe("cli errors", () => {
  test("with no mesh joined, mesh commands exit 4, name the config dir they read and point to `new` and `join`", async () => {
    await using ids = identities(1);
    const [nobody] = ids.dirs as [string];
    for (const args of [["peers"], ["send", "bob", "hi"], ["inbox"], ["topic", "list"]]) {
      const r = await cli(nobody, args);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        code: 4,
        stdout: "",
        stderr: `claudemesh: You have not joined any mesh (config dir ${nobody}). Create one with \`claudemesh new <name>\` or join with \`claudemesh join -\` (then paste the link).\n`,
      });
    }
    const json = await cli(nobody, ["inbox", "--json"]);
    expect({ code: json.code, stderr: json.stderr, json: json.json() }).toEqual({ code: 4, stderr: "", json: { error: { code: "not_found", message: expect.stringContaining("claudemesh new <name>") } } });
    const list = await cli(nobody, ["list"]);
    expect({ code: list.code, stdout: list.stdout }).toEqual({ code: 0, stdout: `No meshes yet (config dir ${nobody}). Create one: claudemesh new <name> --broker URL · or join: claudemesh join - (then paste the link)\n` });
    // A mistyped variable is named, and so is the config dir read instead of the one it meant.
    const typo = await cli(nobody, ["peers"], { env: { CLAUDEMESH_CONFIGDIR: "/tmp/x" } });
    expect({ code: typo.code, stderr: typo.stderr }).toEqual({
      code: 4,
      stderr: `claudemesh: warning: CLAUDEMESH_CONFIGDIR is set but is not a claudemesh variable, so it is ignored (did you mean CLAUDEMESH_CONFIG_DIR?).\nclaudemesh: You have not joined any mesh (config dir ${nobody}). Create one with \`claudemesh new <name>\` or join with \`claudemesh join -\` (then paste the link).\n`,
    });
    // Not in --json: stderr stays empty for scripts.
    const typoJson = await cli(nobody, ["peers", "--json"], { env: { CLAUDEMESH_CONFIGDIR: "/tmp/x" } });
    expect({ code: typoJson.code, stderr: typoJson.stderr }).toEqual({ code: 4, stderr: "" });
  }, 30_000);

  test("send to a broker that is gone exits 6 within a few seconds", async () => {
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    {
      await using b = await startBroker();
      await cliMesh(b.url, [
        [alice, "alice"],
        [bob, "bob"],
      ]);
    }
    const started = performance.now();
    const r = await cli(alice, ["send", "bob", "anyone there?"]);
    const elapsedMs = performance.now() - started;
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 6, stdout: "", stderr: expect.stringMatching(/^claudemesh: .+\n/) });
    expect(elapsedMs).toBeLessThan(5000);
    const json = await cli(alice, ["send", "bob", "anyone there?", "--json"]);
    // A broker gone from its URL may have moved: the fix names the command that gives the new one.
    expect({ code: json.code, json: json.json() }).toEqual({ code: 6, json: { error: { code: "unavailable", message: expect.any(String), fix: expect.stringContaining("claudemesh set-broker <new URL>") } } });
  }, 30_000);

  test("a word beyond a command's arguments is a usage error (exit 2) and does nothing: `rekey foo` rotated the keys", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice] = team.dirs;
    const rekey = await cli(alice, ["rekey", "foo"]);
    expect({ code: rekey.code, stderr: rekey.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('Unexpected argument "foo": claudemesh rekey takes no words') });
    const invite = await cli(alice, ["invite", "revoke", "abcdefgh12", "extra"]);
    expect({ code: invite.code, stderr: invite.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('Unexpected argument "extra": claudemesh invite revoke takes 1 word') });
    expect((await cli(alice, ["topic", "list", "extra"])).code).toBe(2);
    const audit = ok(await cli(alice, ["audit", "log", "--json"])).json().entries as { eventType: string }[];
    expect(audit.filter((e) => e.eventType === "key_rotated")).toEqual([]);
  }, 60_000);

  test("--priority urgent is a usage error (exit 2) and sends nothing", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const r = await cli(alice, ["send", "bob", "hi", "--priority", "urgent"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: "claudemesh: --priority must be now, next or low.\n  fix: see `claudemesh send --help`\n" });
    const post = await cli(alice, ["topic", "post", "general", "hi", "--priority", "urgent", "--json"]);
    expect({ code: post.code, json: post.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: "--priority must be now, next or low.", fix: "see `claudemesh topic post --help`" } } });
    expect((b.ctx.store as SqliteStore).db.query("SELECT COUNT(*) AS n FROM messages").get()).toEqual({ n: 0 });
  }, 30_000);

  test("a malformed --after or --limit is a usage error (exit 2), not read as 0 or as 'all but the oldest'", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const after = await cli(alice, ["topic", "history", "general", "--after", "abc", "--json"]);
    expect({ code: after.code, json: after.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: "--after must be a topic offset (0 or more, in decimal digits).", fix: "see `claudemesh topic history --help`" } } });
    const limit = await cli(alice, ["inbox", "--all", "--limit", "-5", "--json"]);
    expect({ code: limit.code, json: limit.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: "--limit must be a whole number, 1 or more.", fix: "see `claudemesh inbox --help`" } } });
    // Without --all it used to be ignored: every new message was shown (and acked) anyway.
    const alone = await cli(alice, ["inbox", "--limit", "5", "--json"]);
    expect({ code: alone.code, json: alone.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: "--limit goes with --all (the most messages of your history to show); new messages are all shown at once.", fix: "see `claudemesh inbox --help`" } } });
  }, 30_000);

  test("a post to a topic that does not exist names the command that creates it", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const r = await cli(alice, ["send", "#design", "hello"]);
    // In the user's words: it also named the wire request ("the topic_create request").
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 4, stderr: "claudemesh: No topic #design in this mesh. Create it first: claudemesh topic create design\n" });
  }, 30_000);

  test("a config file or directory others can read is refused (exit 5) with the chmod that fixes it", async () => {
    await using team = await cliTeam(["alice"]);
    const { dirs: [alice] } = team;
    const config = join(alice, "config.json");
    chmodSync(config, 0o644);
    const file = await cli(alice, ["whoami"]);
    expect({ code: file.code, stdout: file.stdout, stderr: file.stderr }).toEqual({
      code: 5,
      stdout: "",
      stderr: `claudemesh: ${config} is readable by other users (mode 644); it holds private keys.\n  fix: chmod 600 ${config}\n`,
    });
    const json = await cli(alice, ["peers", "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "local_config", message: expect.stringContaining("mode 644"), fix: expect.stringMatching(/^chmod 600 .*config\.json$/) } } });
    chmodSync(config, 0o600);
    chmodSync(alice, 0o755);
    const dir = await cli(alice, ["whoami"]);
    expect({ code: dir.code, stderr: dir.stderr }).toEqual({ code: 5, stderr: expect.stringContaining(`  fix: chmod 700 ${alice}\n`) });
    chmodSync(alice, 0o700);
    const fixed = await cli(alice, ["whoami"]);
    expect({ code: fixed.code, stdout: fixed.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^team-x: alice \(owner\) key [0-9a-f]{64}\n$/) });
  }, 30_000);

  test("a missing argument is a usage error (exit 2)", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const human = await cli(dir, ["send", "bob"]);
    const json = await cli(dir, ["send", "bob", "--json"]);
    const parsed = (() => {
      try {
        return JSON.parse(json.stdout);
      } catch {
        return `not JSON: ${json.stdout.slice(0, 40)}`;
      }
    })();
    expect({ human: { code: human.code, stdout: human.stdout }, json: { code: json.code, stdout: parsed } }).toEqual({
      human: { code: 2, stdout: "" },
      json: { code: 2, stdout: { error: { code: "usage", message: expect.stringContaining("MESSAGE"), fix: "see `claudemesh send --help`" } } },
    });
  }, 30_000);

  test("an id that starts with '-' reads as an option: the usage error says to put it after --", async () => {
    await using ids = identities(1);
    const [dir] = ids.dirs as [string];
    const r = await cli(dir, ["invite", "revoke", "-dHniusIBvF6sl1BdY1Bwg"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toContain('An argument that starts with "-" goes after "--": claudemesh invite revoke -- -dHniusIBvF6sl1BdY1Bwg.');
  }, 30_000);

  test("a send the broker did not confirm prints its id, and --client-message-id retries it without a duplicate", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const writes = b.ctx.writes;
    const send = writes.send.bind(writes);
    writes.send = () => Promise.reject(new Error("the disk caught fire")); // answered `internal`
    const failed = await cli(alice, ["send", "bob", "deploy is done", "--json"]);
    const human = await cli(alice, ["send", "bob", "deploy is done"]);
    writes.send = send;
    expect({ code: failed.code, json: failed.json() }).toEqual({ code: 1, json: { error: { code: "internal", message: expect.any(String), fix: expect.stringMatching(/^the broker may have stored it: to send it again without a duplicate, run the same command with --client-message-id [A-Za-z0-9_-]{8,64}$/), clientMessageId: expect.stringMatching(/^[A-Za-z0-9_-]{8,64}$/) } } });
    expect(human.stderr).toContain("run the same command with --client-message-id ");
    const id: string = failed.json().error.clientMessageId;
    const retry = await cli(alice, ["send", "bob", "deploy is done", "--client-message-id", id, "--json"]);
    const again = await cli(alice, ["send", "bob", "deploy is done", "--client-message-id", id, "--json"]);
    expect([retry.code, retry.json().duplicate, again.code, again.json().duplicate]).toEqual([0, false, 0, true]);
    expect(again.json().messageId).toBe(retry.json().messageId);
    const inbox = await cli(bob, ["inbox", "--json"]);
    expect(inbox.json().messages.map((m: { body: string }) => m.body)).toEqual(["deploy is done"]);
    const bad = await cli(alice, ["send", "bob", "x", "--client-message-id", "no!"]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("--client-message-id takes the id") });
  }, 60_000);

  test("an option a command does not declare is refused with the closest one (it used to be ignored), in every command", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const typo = await cli(alice, ["send", "bob", "deploy now", "--prioriy", "now"]);
    expect({ code: typo.code, stdout: typo.stdout, stderr: typo.stderr }).toEqual({ code: 2, stdout: "", stderr: "claudemesh: Unknown option --prioriy (did you mean --priority?).\n  fix: see `claudemesh send --help`\n" });
    const json = await cli(alice, ["topic", "post", "general", "x", "--json", "--client-id=abc"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: expect.stringContaining("Unknown option --client-id"), fix: "see `claudemesh topic post --help`" } } });
    expect((await cli(alice, ["whoami", "--jsno"])).stderr).toContain("(did you mean --json?)");
    // Nothing was sent by the refused commands; after "--" a word is text, not an option.
    ok(await cli(alice, ["send", "bob", "--", "--verbose", "is", "not", "an", "option"]));
    const inbox = await cli(bob, ["inbox", "--json"]);
    expect(inbox.json().messages.map((m: { body: string }) => m.body)).toEqual(["--verbose is not an option"]);
  }, 60_000);
});
