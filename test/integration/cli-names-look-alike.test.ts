// Names chosen to pass for someone else's (session 33 review), with a real broker and the CLI as a
// subprocess: a member named "me/app" (the name of another member's live Claude Code session;
// refused at join since, taken by older brokers) does not get that session's messages; names that only look alike (a composed and a
// decomposed "José", Cyrillic "саrol") are ambiguous to send and kick, listed with their keys and
// the code points that tell them apart; and join warns the newcomer of both. Session 39: an
// impostor "a1ice" beside alice and "rnallory" beside mallory (digits and letter pairs, which
// session 33 left out) are warned at join and make both names ambiguous; a name mixing scripts is
// warned at join.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliTeam, ok, sessionOf } from "../helpers/cli.ts";
import { storedName } from "../helpers/broker.ts";

const RENAME = "To take another name, leave (claudemesh leave team-x --yes), ask for a new invite and join again with --display-name <another name>.";

describe("names that pass for another peer's", () => {
  test("a member called like another member's session (as an older broker let it): send and kick are refused as ambiguous", async () => {
    await using team = await cliTeam(["owner", "me", "carol"]);
    const { b, root, dirs: [owner, me, carol] } = team;
    const session = await sessionOf(b.url, me, "/home/me/app"); // the session "me/app"
    type Row = { kind: string; displayName: string; pubkey: string };
    try {
      const sessionKey = (ok(await cli(carol, ["peers", "--json"])).json().peers as Row[]).find((p) => p.kind === "session")!.pubkey;
      const impostor = join(root, "impostor");
      const link = ok(await cli(owner, ["invite", "--json"])).json().link;
      // Today the name is refused at join ("/" reads as a session: cli-display-names.test.ts); a
      // broker before session 33 took it, so the member below gets it straight in the store.
      expect((await cli(impostor, ["join", link, "--display-name", "me/app"])).code).toBe(2);
      const joined = ok(await cli(impostor, ["join", link, "--display-name", "imp", "--json"]));
      const impostorKey = joined.json().member.pubkey as string;
      storedName(b, team.mesh.meshId, ok(await cli(impostor, ["whoami", "--json"])).json().identities[0].memberId, "me/app");

      // A third member, the session's own member (from a terminal), and the owner's kick: all refused.
      for (const [dir, args] of [[carol, ["send", "me/app", "secret"]], [me, ["send", "me/app", "secret"]], [owner, ["kick", "me/app"]]] as const) {
        const r = await cli(dir, [...args]);
        expect({ code: r.code, stdout: r.stdout, lines: r.stderr.split("\n") }).toEqual({
          code: 2,
          stdout: "",
          lines: ['claudemesh: "me/app" matches 2 peers; use a longer name or a key prefix:', `  "me/app" (session ${sessionKey.slice(0, 12)}, test-host:/home/me/app, online)`, `  "me/app" (member ${impostorKey.slice(0, 12)})`, ""],
        });
      }
      expect(session.messages).toEqual([]);
      expect(ok(await cli(impostor, ["inbox", "--json"])).json().messages).toEqual([]);
      // Chosen by key, it reaches the session.
      ok(await cli(carol, ["send", sessionKey.slice(0, 12), "hello"]));
      await session.waitMessages(1);
    } finally {
      session.close();
    }
  }, 90_000);

  test("a composed and a decomposed José, and a Cyrillic саrol: warned at join; send and kick ambiguous, nobody removed", async () => {
    await using team = await cliTeam(["owner", "carol"]);
    const { root, dirs: [owner] } = team;
    const invite = async () => ok(await cli(owner, ["invite", "--json"])).json().link as string;
    const joinAs = async (dir: string, name: string) => {
      const r = await cli(join(root, dir), ["join", await invite(), "--display-name", name, "--json"]);
      return { code: r.code, key: r.json().member.pubkey as string, stderr: r.stderr };
    };
    const nfc = await joinAs("nfc", "Jos\u00e9");
    expect({ code: nfc.code, stderr: nfc.stderr }).toEqual({ code: 0, stderr: "" });
    const nfd = await joinAs("nfd", "Jose\u0301");
    expect({ code: nfd.code, stderr: nfd.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh: warning: another member of "Team X" is already called "Jos\u00e9" (member, key ${nfc.key.slice(0, 12)}). \`claudemesh send Jose\u0301\` is now ambiguous: peers must tell you apart by key prefix (yours: ${nfd.key.slice(0, 12)}). ${RENAME}\n`,
    });
    const cyr = await joinAs("cyrillic", "\u0441\u0430rol");
    expect({ code: cyr.code, stderr: cyr.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh: warning: another member of "Team X" has a name that looks like "\u0441\u0430rol" but is written with other characters, "carol" (member, key ${team.mesh.members.carol!.pubkey.slice(0, 12)}). \`claudemesh send \u0441\u0430rol\` is now ambiguous: peers must tell you apart by key prefix (yours: ${cyr.key.slice(0, 12)}, has U+0441 U+0430, mixes Cyrillic and Latin letters). ${RENAME}\n`,
    });

    const jose = ["  \"Jos\u00e9\" (member " + nfc.key.slice(0, 12) + ", has U+00E9)", "  \"Jose\u0301\" (member " + nfd.key.slice(0, 12) + ", has U+0301)"];
    const alike = 'Some of these names only look alike (the characters marked "has U+…" differ): name the one you mean by its key prefix.';
    for (const args of [["send", "Jos\u00e9", "x"], ["send", "Jose\u0301", "x"], ["kick", "Jos\u00e9"], ["ban", "Jose\u0301"]]) {
      const r = await cli(owner, args);
      expect({ code: r.code, lines: r.stderr.split("\n").slice(1).sort() }).toEqual({ code: 2, lines: ["", ...jose, alike].sort() });
    }
    const carolKey = team.mesh.members.carol!.pubkey;
    const cyrillic = await cli(owner, ["send", "carol", "x"]);
    expect({ code: cyrillic.code, lines: cyrillic.stderr.split("\n") }).toEqual({
      code: 2,
      lines: ['claudemesh: "carol" matches 2 peers; use a longer name or a key prefix:', `  "carol" (member ${carolKey.slice(0, 12)})`, `  "\u0441\u0430rol" (member ${cyr.key.slice(0, 12)}, has U+0441 U+0430)`, alike, ""],
    });
    // Nobody was removed, and a key prefix still picks one.
    const members = (ok(await cli(owner, ["peers", "--all", "--json"])).json().peers as { kind: string }[]).filter((p) => p.kind === "member");
    expect(members).toHaveLength(5);
    expect(ok(await cli(owner, ["send", nfd.key.slice(0, 12), "x", "--json"])).json().to).toBe(nfd.key);
  }, 90_000);

  test("an impostor a1ice beside alice and rnallory beside mallory: warned at join; send and kick ambiguous, nothing delivered to them", async () => {
    await using team = await cliTeam(["owner", "alice", "mallory", "carol"]);
    const { root, dirs: [owner, alice, , carol] } = team;
    const key = (name: string) => team.mesh.members[name]!.pubkey.slice(0, 12);
    const joinAs = async (dir: string, name: string) => {
      const link = ok(await cli(owner, ["invite", "--json"])).json().link as string;
      const r = await cli(join(root, dir), ["join", link, "--display-name", name, "--json"]);
      return { code: r.code, key: r.json().member.pubkey.slice(0, 12) as string, stderr: r.stderr };
    };
    const digit = await joinAs("digit", "a1ice");
    expect({ code: digit.code, stderr: digit.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh: warning: another member of "Team X" has a name that looks like "a1ice" but is written with other characters, "alice" (member, key ${key("alice")}). \`claudemesh send a1ice\` is now ambiguous: peers must tell you apart by key prefix (yours: ${digit.key}, has "1"). ${RENAME}\n`,
    });
    const pair = await joinAs("pair", "rnallory");
    expect({ code: pair.code, stderr: pair.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh: warning: another member of "Team X" has a name that looks like "rnallory" but is written with other characters, "mallory" (member, key ${key("mallory")}). \`claudemesh send rnallory\` is now ambiguous: peers must tell you apart by key prefix (yours: ${pair.key}, has "rn"). ${RENAME}\n`,
    });
    // A name of two scripts that looks like nobody's yet is warned of too.
    const mixed = await joinAs("mixed", "d\u0430ve");
    expect({ code: mixed.code, stderr: mixed.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh: warning: your name "d\u0430ve" mixes Latin and Cyrillic letters (has U+0430), as a name made to pass for another's does: peers cannot see which letters are which, so they may take you for anyone whose name looks like it, and tell you apart only by key prefix (yours: ${mixed.key}). ${RENAME}\n`,
    });

    const alike = 'Some of these names only look alike (the characters marked "has …" differ): name the one you mean by its key prefix.';
    const aliceLines = [`  "alice" (member ${key("alice")})`, `  "a1ice" (member ${digit.key}, has "1")`, alike, ""];
    for (const [dir, args] of [[carol, ["send", "alice", "secret"]], [carol, ["send", "a1ice", "secret"]], [owner, ["kick", "alice"]]] as const) {
      const r = await cli(dir, [...args]);
      expect({ code: r.code, stdout: r.stdout, lines: r.stderr.split("\n") }).toEqual({ code: 2, stdout: "", lines: [`claudemesh: "${args[1]}" matches 2 peers; use a longer name or a key prefix:`, ...aliceLines] });
    }
    const mallory = await cli(carol, ["send", "mallory", "secret"]);
    expect({ code: mallory.code, lines: mallory.stderr.split("\n") }).toEqual({
      code: 2,
      lines: ['claudemesh: "mallory" matches 2 peers; use a longer name or a key prefix:', `  "mallory" (member ${key("mallory")})`, `  "rnallory" (member ${pair.key}, has "rn")`, alike, ""],
    });
    // Nothing reached the impostors, nobody was removed, and the key prefix reaches alice.
    for (const dir of ["digit", "pair"]) expect(ok(await cli(join(root, dir), ["inbox", "--json"])).json().messages).toEqual([]);
    expect((ok(await cli(owner, ["peers", "--all", "--json"])).json().peers as { kind: string }[]).filter((p) => p.kind === "member")).toHaveLength(7);
    expect(ok(await cli(carol, ["send", key("alice"), "hello", "--json"])).json().to).toBe(team.mesh.members.alice!.pubkey);
    expect((ok(await cli(alice, ["inbox", "--json"])).json().messages as { body: string }[]).map((m) => m.body)).toEqual(["hello"]);
  }, 120_000);
});
