// `claudemesh join -` (or `join` with no link) reads the invite link from stdin, so that the link's
// secret is never on the command line, where every local user can read it (/proc/<pid>/cmdline,
// `ps`) while join runs. The positional form still works (cli-invites.test.ts).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";

test("join - and join without a link read the link from stdin; an empty stdin or two names are usage errors", async () => {
  await using b = await startBroker();
  await using ids = identities(4);
  const [alice, bob, carol, dave] = ids.dirs as [string, string, string, string];
  await cliMesh(b.url, [[alice, "alice"]]);
  const invite = async () => ok(await cli(alice, ["invite", "--json"])).json().link as string;

  const dash = await cli(bob, ["join", "-", "--name", "bob", "--json"], { stdin: `${await invite()}\n` });
  expect({ code: dash.code, stderr: dash.stderr, name: dash.code === 0 && dash.json().member.displayName }).toEqual({ code: 0, stderr: "", name: "bob" });

  // No link argument at all; CRLF and surrounding blanks are fine, later lines are ignored.
  const bare = await cli(carol, ["join", "--name", "carol"], { stdin: `  ${await invite()} \r\nignored\n` });
  expect({ code: bare.code, stdout: bare.stdout }).toEqual({ code: 0, stdout: expect.stringContaining("as carol (member)") });

  const empty = await cli(dave, ["join", "-", "--name", "dave"], { stdin: "" });
  expect({ code: empty.code, stderr: empty.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("No invite link on stdin") });

  // Two names that differ: one was silently taken. Refused before the link is read or used.
  const link = await invite();
  const twice = await cli(dave, ["join", "-", "--display-name", "alice2", "--name", "bob2"], { stdin: `${link}\n` });
  expect({ code: twice.code, stdout: twice.stdout, stderr: twice.stderr }).toEqual({
    code: 2,
    stdout: "",
    stderr: 'claudemesh: --display-name "alice2" and --name "bob2" both give your name (--name is its older spelling); give only one.\n  fix: see `claudemesh join --help`\n',
  });
  // The same name twice says one thing, and the invite is still unused.
  ok(await cli(dave, ["join", "-", "--display-name", "dave", "--name", "dave"], { stdin: `${link}\n` }));

  const peers = ok(await cli(alice, ["peers", "--all", "--json"])).json();
  expect(peers.peers.map((p: any) => p.displayName).sort()).toEqual(["alice", "bob", "carol", "dave"]);

  // The help recommends the stdin form.
  const help = await cli(dave, ["join", "--help"]);
  expect(help.stdout).toContain("claudemesh join - < invite.txt");
}, 60_000);
