// `claudemesh inbox --follow` running while its mesh's broker moves (docs/decisions.md, session
// 36): the follower keeps retrying the old address until `claudemesh set-broker` saves the new one
// in another terminal, then connects there at its next attempt (it reads the URL from the config
// before each, src/client/local/mesh-on-disk.ts, as the MCP server does), says so, and shows what
// is sent through the new broker. A real broker on port 0 stopped, and a second one started on
// the same data directory at another port, as cli-set-broker.test.ts moves a mesh.
import { expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, cliStream, identities, ok, until } from "../helpers/cli.ts";

test("a follower connects to the broker set-broker saved, without a restart, and shows messages sent through it", async () => {
  const dataDir = tempDir("cm-follow-moved-");
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const first = await startBroker({}, { dataDir });
  const { slug } = await cliMesh(first.url, [[alice, "alice"], [bob, "bob"]]);
  await using follower = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follower.stderr().includes("Following"), "bob's follow banner");
  ok(await cli(alice, ["send", "bob", "before the move"]));
  expect((await follower.lines(1))[0]).toContain(": before the move");

  await first.stop();
  await using moved = await startBroker({}, { dataDir });
  await until(() => follower.stderr().includes("reconnecting until it answers"), "the follower to notice the drop");
  ok(await cli(bob, ["set-broker", moved.url]));
  ok(await cli(alice, ["set-broker", moved.url]));
  ok(await cli(alice, ["send", "bob", "after the move"]));
  // The reconnect backoff is at most 30 s a step; the follower is a few attempts in.
  expect((await follower.lines(1, 45_000))[0]).toContain(": after the move");
  expect(follower.stderr()).toContain(`The broker of ${slug} moved to ${moved.url} (claudemesh set-broker); connecting there.`);
  expect(follower.stderr()).toContain(`Connected to the broker at ${moved.url} again.`);
  expect(follower.proc.exitCode).toBeNull();
}, 120_000);
