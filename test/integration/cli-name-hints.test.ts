// "Did you mean …?" for the names a command gives the broker, as for commands and options
// (src/client/name-hints.ts, one matcher: src/did-you-mean.ts): a near topic is named before the
// advice to create one, a near peer before "list names with claudemesh peers", a near capability
// in grant's refusal. A name near nothing is answered with what lists the names (a post to a topic
// keeps the broker's "create it first"). A topic created twice is said in
// words with the next step, not as the broker's bare "topic #x already exists". A peer name that
// matches nobody names the mesh searched (in several meshes), a member of it who is gone, and
// another mesh of yours where a peer has that name (src/cli/peer-elsewhere.ts).
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";

const failed = (r: { code: number; stderr: string }) => ({ code: r.code, stderr: r.stderr });

test("a mistyped topic, peer or capability is answered with the name it is near; an existing topic with how to join it", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [alice, bob] } = team;
  ok(await cli(alice, ["topic", "create", "deploys"]));

  // Creating it again says so in words, with the next step: joining it, unless you are in it.
  expect(failed(await cli(alice, ["topic", "create", "deploys"]))).toEqual({ code: 5, stderr: "claudemesh: Topic #deploys already exists in this mesh. You are in it already.\n" });
  expect(failed(await cli(bob, ["topic", "create", "#deploys"]))).toEqual({ code: 5, stderr: "claudemesh: Topic #deploys already exists in this mesh. Join it with: claudemesh topic join deploys\n" });

  expect(failed(await cli(alice, ["topic", "post", "deplyos", "x"]))).toEqual({ code: 4, stderr: "claudemesh: No topic #deplyos in this mesh. Did you mean #deploys? (claudemesh topic list lists them.)\n" });
  expect(failed(await cli(bob, ["topic", "join", "deploy"]))).toEqual({ code: 4, stderr: "claudemesh: No topic #deploy in this mesh. Did you mean #deploys? (claudemesh topic list lists them.)\n" });
  expect(failed(await cli(bob, ["topic", "history", "deplyos"]))).toEqual({ code: 4, stderr: "claudemesh: No topic #deplyos in this mesh. Did you mean #deploys? (claudemesh topic list lists them.)\n" });
  // Nothing near: creating it is the advice, as before.
  expect(failed(await cli(alice, ["send", "#design", "x"]))).toEqual({ code: 4, stderr: "claudemesh: No topic #design in this mesh. Create it first: claudemesh topic create design\n" });
  // Nothing near a topic to join, leave or read: the command that lists them.
  const noTopic = "claudemesh: No topic #nosuch in this mesh. List them with claudemesh topic list.\n";
  expect(failed(await cli(bob, ["topic", "history", "nosuch"]))).toEqual({ code: 4, stderr: noTopic });
  expect(failed(await cli(bob, ["topic", "join", "nosuch"]))).toEqual({ code: 4, stderr: noTopic });
  expect(failed(await cli(bob, ["topic", "leave", "nosuch"]))).toEqual({ code: 4, stderr: noTopic });

  expect(failed(await cli(bob, ["grant", "alise", "dm"]))).toEqual({ code: 4, stderr: 'claudemesh: No peer matches "alise". Did you mean "alice"? (claudemesh peers lists them.)\n' });
  // Near nobody: the command that lists them, in the CLI's terms only (the MCP server names its tool).
  expect(failed(await cli(bob, ["send", "zed", "x"]))).toEqual({ code: 4, stderr: 'claudemesh: No peer matches "zed". List names with claudemesh peers, or give a public-key prefix (≥ 6 hex).\n' });
  // Your own name is no suggestion: a name never resolves to you.
  expect(failed(await cli(bob, ["send", "bobb", "x"]))).toEqual({ code: 4, stderr: expect.stringMatching(/^claudemesh: No peer matches "bobb"\. List names/) });

  expect(failed(await cli(bob, ["grant", "alice", "dm", "topci"]))).toEqual({ code: 2, stderr: expect.stringMatching(/^claudemesh: Unknown capability "topci" \(did you mean topic\?\); use dm, broadcast, group, topic or all\./) });
}, 60_000);

test("a name not in the mesh searched: the refusal names that mesh, the other mesh of yours it is in, or that the member is gone; exit 4 as before", async () => {
  await using team = await cliTeam(["alice", "bob", "carol", "dave"]);
  const { b, dirs: [alice, bob], mesh } = team;
  const slug = mesh.slug;
  ok(await cli(alice, ["kick", "carol"]));
  ok(await cli(alice, ["ban", "dave"]));
  expect(failed(await cli(bob, ["grant", "dave", "dm"]))).toEqual({ code: 4, stderr: expect.stringMatching(/^claudemesh: No peer matches "dave"\. "dave" \([0-9a-f]{12}\) was banned from this mesh \(\d{4}-[^)]+\)\.\n$/) });
  const carol = `"carol" (${mesh.members.carol!.pubkey.slice(0, 12)})`;
  const gone = /was removed from this mesh \((\d{4}-\d\d-\d\dT[\d:.]+Z)\)\.\n$/;
  // One mesh: not named; the former member is said to be gone, by name and key prefix.
  const single = failed(await cli(bob, ["send", "carol", "x"]));
  expect(single).toEqual({ code: 4, stderr: expect.stringMatching(new RegExp(`^claudemesh: No peer matches "carol"\\. ${carol.replace(/[()]/g, "\\$&")} ${gone.source}`)) });

  // alice is in a second mesh, where bob is not, and CLAUDEMESH_MESH points there.
  ok(await cli(alice, ["new", "Ops", "--slug", "ops", "--broker", b.url, "--display-name", "alice"]));
  const inOps = { env: { CLAUDEMESH_MESH: "ops" } };
  expect(failed(await cli(alice, ["send", "bob", "hi"], inOps))).toEqual({ code: 4, stderr: `claudemesh: No peer matches "bob" in ops. Did you mean ${slug}:bob? (a peer "bob" is in your mesh ${slug}.)\n` });
  // A command that takes no "mesh:" prefix is told the --mesh to add.
  expect(failed(await cli(alice, ["grant", "bob", "dm"], inOps))).toEqual({ code: 4, stderr: `claudemesh: No peer matches "bob" in ops. A peer "bob" is in your mesh ${slug}: add --mesh ${slug}.\n` });
  // The suggestion works as given.
  ok(await cli(alice, ["send", `${slug}:bob`, "hi"], inOps));
  // Named nowhere: the mesh searched, and where names are listed, with the --mesh that lists them.
  expect(failed(await cli(alice, ["send", "zed", "x"], inOps))).toEqual({ code: 4, stderr: 'claudemesh: No peer matches "zed" in ops. List names with claudemesh peers --mesh ops, or give a public-key prefix (≥ 6 hex).\n' });
  // A removed member of the mesh searched, in several meshes.
  expect(failed(await cli(alice, ["send", "carol", "x", "--mesh", slug]))).toEqual({ code: 4, stderr: expect.stringMatching(new RegExp(`^claudemesh: No peer matches "carol" in ${slug}\\. "carol" \\([0-9a-f]{12}\\) ${gone.source}`)) });
}, 60_000);
