// inbox --follow holds one connection, and the broker hands each push to it alone until it closes.
// So a follower must not forget a push it could not open yet: one sealed under a key epoch whose
// keys come a moment later on the same connection, or a batch whose senders' member list did not
// come. Both were forgotten, neither shown nor acked, until the follower restarted, and later
// messages of the same sender were shown before them (session 31's client review).
import { expect, test } from "bun:test";
import { brokerClock, startBroker } from "../helpers/broker.ts";
import { cli, cliStream, cliTeam, identities, ok, until, useBroker } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

const bodies = (lines: string[]) => lines.map((x) => x.replace(/^.*: /, ""));

test("a message that waited for the mesh keys is shown once they arrive on the same connection", async () => {
  await using b = await startBroker();
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  ok(await cli(alice, ["new", "Team X", "--broker", b.url, "--display-name", "alice", "--json"]));
  const { link } = ok(await cli(alice, ["invite", "--json"])).json();
  ok(await cli(alice, ["rekey"])); // the invite carries the old epoch's key only
  ok(await cli(bob, ["join", link, "--name", "bob"]));
  await using follow = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "the follower to start");
  ok(await cli(alice, ["send", "*", "sealed with epoch 1"]));
  await until(() => follow.stderr().includes("use a mesh key you do not have yet"), "the follower to say the message waits for keys");
  ok(await cli(alice, ["inbox"])); // the owner's inbox answers bob's key request
  expect(bodies(await follow.lines(1, 8000))).toEqual(["sealed with epoch 1"]);
}, 60_000);

test("a batch whose member list did not come is tried again, and shown in its order", async () => {
  await using team = await cliTeam(["alice", "bob", "carol"]);
  const { dirs: [, bob, carol] } = team;
  let dropMembers = true;
  // The member_list answer does not come (a broker stalled past the timeout); the link stays up.
  using proxy = linkProxy(team.b.port, (d) => (dropMembers && Buffer.from(d).toString("latin1").includes('"members":[') ? false : undefined));
  useBroker(bob, proxy.url);
  await using follow = cliStream(bob, ["inbox", "--follow"], { env: { CLAUDEMESH_TIMEOUT: "2s" } });
  await until(() => follow.stderr().includes("Following"), "the follower to start");
  ok(await cli(carol, ["send", "bob", "first from carol"]));
  await until(() => follow.stderr().includes("inbox:"), "the failed lookup to be reported", 10_000);
  dropMembers = false;
  ok(await cli(carol, ["send", "bob", "second from carol"]));
  expect(bodies(await follow.lines(2, 8000))).toEqual(["first from carol", "second from carol"]);
}, 60_000);

test("a follower whose reconnects the broker refuses says why, once, and goes on retrying", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [, bob] } = team;
  using proxy = linkProxy(team.b.port);
  useBroker(bob, proxy.url);
  await using follow = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "the follower to start");
  brokerClock(team.b, 5 * 60_000); // this machine's clock is now 5 minutes behind the broker's
  proxy.cut();
  // Counted by the metric: the broker's log says such refusals at most once per 10 s.
  const refused = async () => Number(/^broker_connections_rejected_total\{reason="timestamp_skew"\} (\d+)$/m.exec(await (await fetch(`${team.b.url}/metrics`)).text())?.[1] ?? 0);
  await until(async () => (await refused()) >= 2, "two refused reconnects", 20_000);
  const said = follow.stderr().split("\n").filter((l) => l.includes("refuses this connection"));
  expect(said).toEqual(["claudemesh: warning: the broker answers but refuses this connection (timestamp_skew): The hello timestamp is more than 60 s from the broker clock. Fix the client clock (NTP) and reconnect. Still retrying."]);
  expect(follow.proc.exitCode).toBeNull(); // still following
}, 40_000);
