// `claudemesh join -` (or `join` with no link) reads the invite link from stdin, so that the link's
// secret is never on the command line, where every local user can read it (/proc/<pid>/cmdline,
// `ps`) while join runs. The positional form still works (cli-invites.test.ts).
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { encodeInvite, parseInvite } from "../../src/client/invite-link.ts";

/** The same invite, with its broker reached at `url` (a proxy in front of the real one). */
function linkThrough(link: string, url: string): string {
  const { secret: _secret, ...payload } = parseInvite(link);
  return encodeInvite({ ...payload, broker: url }).link;
}

test("join - and join without a link read the link from stdin; an empty stdin is a usage error", async () => {
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

  const peers = ok(await cli(alice, ["peers", "--all", "--json"])).json();
  expect(peers.peers.map((p: any) => p.displayName).sort()).toEqual(["alice", "bob", "carol"]);

  // The help recommends the stdin form.
  const help = await cli(dave, ["join", "--help"]);
  expect(help.stdout).toContain("claudemesh join - < invite.txt");
}, 60_000);

test("a join whose answer was lost is run again with the same key: the broker gives back that enrolment, and the invite is used once", async () => {
  // It generated a new key each time: the first claim had used the single-use invite, so the
  // retry was refused with invite_exhausted and the first key, enrolled, was never saved.
  await using b = await startBroker();
  using proxy = linkProxy(b.port);
  await using ids = identities(3);
  const [alice, bob, carol] = ids.dirs as [string, string, string];
  await cliMesh(b.url, [[alice, "alice"]]);
  const link: string = ok(await cli(alice, ["invite", "--json"])).json().link;
  const viaProxy = linkThrough(link, proxy.url);
  proxy.freezeDown(); // the claim reaches the broker; its answer does not come back
  const lost = await cli(bob, ["join", "-", "--display-name", "bob"], { stdin: viaProxy + "\n", timeoutMs: 4000 }); // then Ctrl-C
  expect(lost.code).not.toBe(0);
  proxy.thaw();
  const again = ok(await cli(bob, ["join", "-", "--display-name", "bob", "--json"], { stdin: viaProxy + "\n" }));
  expect(again.json().member.displayName).toBe("bob");
  const peers = ok(await cli(alice, ["peers", "--json"])).json().peers.filter((p: { kind: string }) => p.kind === "member");
  expect(peers.map((p: { displayName: string }) => p.displayName).toSorted()).toEqual(["alice", "bob"]);
  expect(peers.find((p: { displayName: string }) => p.displayName === "bob").pubkey).toBe(ok(await cli(bob, ["whoami", "--json"])).json().identities[0].pubkey);
  // One use, one member_joined: the repeat wrote nothing.
  const audit = ok(await cli(alice, ["audit", "log", "--json"])).json().entries.map((e: { eventType: string }) => e.eventType);
  expect(audit.filter((t: string) => t === "member_joined").length).toBe(1);
  expect((await cli(carol, ["join", "-", "--display-name", "carol"], { stdin: link + "\n" })).stderr).toContain("used as many times as allowed");
  expect(readdirSync(bob).includes("pending-joins") ? readdirSync(join(bob, "pending-joins")) : []).toEqual([]);
}, 60_000);
