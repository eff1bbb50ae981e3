// Every CLI line names a peer as peerLabel does (src/client/resolve.ts): its name quoted, then the
// key prefix. Here the owner's note after answering a key request in `inbox`; `send`'s line and
// the message lines are pinned by cli-lifecycle, cli-targets and test/unit/cli-format-message.
import { expect, test } from "bun:test";
import { cli, cliTeam, identities, ok, until } from "../helpers/cli.ts";

test("the owner's inbox says whose key request it answered, by quoted name and key", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const alice = team.dirs[0];
  // An invite made before a rotation carries the old key only: dave asks the owner for the new one.
  const { link } = ok(await cli(alice, ["invite", "--json"])).json();
  ok(await cli(alice, ["rekey"]));
  await using ids = identities(1);
  const dave = ok(await cli(ids.dirs[0]!, ["join", link, "--name", "dave", "--json"])).json().member.pubkey as string;
  let notes = "";
  await until(async () => (notes += ok(await cli(alice, ["inbox"])).stderr).includes("Sent the mesh keys"), "alice to answer dave's key request");
  expect(notes).toContain(`Sent the mesh keys to "dave" (${dave.slice(0, 12)}).\n`);
});
