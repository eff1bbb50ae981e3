// Two joined meshes with one slug ("ops" on two brokers) in a live MCP session (session 33). The
// tools refused "ops:bob" and mesh_peers {mesh:"ops"} with "the prefix cannot tell them apart" and
// took no mesh id instead, so one of the two could not be used at all; pushes, mesh_peers' headers
// and results named both "ops". And once the member left (or was removed from) one of them, the
// session kept counting it: "ops:bob" was still refused as ambiguous, and every listing named the
// left mesh with the label of the live one. Here: a mesh id works wherever a slug does (as a
// "<mesh>:" prefix, as mesh_peers' mesh, and in the CLI), both meshes are named apart (with the
// broker's host, as the CLI names them), and a mesh the member is out of is left out, said once.
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { cli, identities, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

/** alice owns ops and shop on broker 1, carol owns ops on broker 2; bob is in all three. */
async function twoOps(b1: TestBroker, b2: TestBroker, dirs: readonly string[]) {
  const [alice, carol, bob] = dirs as [string, string, string];
  ok(await cli(alice, ["new", "ops", "--broker", b1.url, "--display-name", "alice"]));
  ok(await cli(alice, ["new", "shop", "--broker", b1.url, "--display-name", "alice"]));
  ok(await cli(carol, ["new", "ops", "--broker", b2.url, "--display-name", "carol"]));
  ok(await cli(bob, ["join", ok(await cli(alice, ["invite", "--mesh", "ops", "--json"])).json().link, "--display-name", "bob"]));
  ok(await cli(bob, ["join", ok(await cli(alice, ["invite", "--mesh", "shop", "--json"])).json().link, "--display-name", "bob"]));
  ok(await cli(bob, ["join", ok(await cli(carol, ["invite", "--json"])).json().link, "--display-name", "bob"]));
  const ids = ok(await cli(bob, ["list", "--json"])).json().meshes.map((m: { meshId: string }) => m.meshId);
  return { alice, carol, bob, id1: ids[0] as string, id2: ids[2] as string, host1: new URL(b1.url).host, host2: new URL(b2.url).host };
}

test("a mesh id chooses one of two meshes with one slug, in the MCP tools and the CLI, and each is named apart", async () => {
  await using b1 = await startBroker();
  await using b2 = await startBroker();
  await using dirs = identities(3);
  const { alice, carol, bob, id1, id2, host1, host2 } = await twoOps(b1, b2, dirs.dirs);
  await using s = await startMcp(bob, "sess-two-ops");
  await waitConnected(s);

  // The shared slug names neither: the refusal gives each one's id as the prefix.
  const ambiguous = await s.call("mesh_send", { to: "ops:carol", message: "hi" });
  expect(ambiguous).toEqual({ isError: true, text: expect.stringContaining(`"${id1}:" for ops on ${host1}, "${id2}:" for ops on ${host2}`) });
  // Without a prefix, the list names the two apart.
  expect((await s.call("mesh_send", { to: "carol", message: "hi" })).text).toContain(`several meshes (ops on ${host1}, shop, ops on ${host2})`);
  // The id as a prefix, and as mesh_peers' mesh.
  expect(await s.call("mesh_send", { to: `${id2}:carol`, message: "by id" })).toEqual({ isError: false, text: expect.stringMatching(new RegExp(`^Sent to "carol" \\([0-9a-f]{12}\\) in mesh ops on ${host2} \\(message id`)) });
  expect(ok(await cli(carol, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body)).toEqual(["by id"]);
  const one = await s.call("mesh_peers", { mesh: id2 });
  expect({ isError: one.isError, head: one.text.split("\n")[0], carol: one.text.includes('"carol"'), alice: one.text.includes('"alice"') }).toEqual({ isError: false, head: `Mesh ops on ${host2} (mesh id ${id2}):`, carol: true, alice: false });
  const all = await s.call("mesh_peers");
  expect(all.text.split("\n").filter((l) => l.startsWith("Mesh "))).toEqual([`Mesh ops on ${host1} (mesh id ${id1}):`, "Mesh shop:", `Mesh ops on ${host2} (mesh id ${id2}):`]);

  // A push names its mesh apart, in the text and the meta.
  ok(await cli(carol, ["send", "bob", "from carol"]));
  const push = await s.waitNotification((n) => n.content.includes("from carol"));
  expect({ head: push.content.split("\n")[0]!.includes(`, mesh ops on ${host2}) to you directly`), mesh: push.meta.mesh, id: push.meta.mesh_id }).toEqual({ head: true, mesh: `ops on ${host2}`, id: id2 });
  expect((await s.call("mesh_inbox")).text).toContain(`mesh ops on ${host2})`);

  // The CLI takes the id as a prefix too, and its refusal of the shared slug names that form.
  const byId = await cli(bob, ["send", `${id2}:carol`, "from the terminal"]);
  expect({ code: byId.code, out: byId.stdout.startsWith(`Sent to "carol"`) && byId.stdout.includes(` in ops on ${host2}.`) }).toEqual({ code: 0, out: true });
  const bySlug = await cli(bob, ["send", "ops:carol", "x"]);
  expect({ code: bySlug.code, err: bySlug.stderr.includes(`${id1}:carol (on ${b1.url})`) && bySlug.stderr.includes(`${id2}:carol (on ${b2.url})`) }).toEqual({ code: 2, err: true });
}, 90_000);

test("mesh_reply names the peer's key and the mesh, as mesh_send does", async () => {
  await using b1 = await startBroker();
  await using b2 = await startBroker();
  await using dirs = identities(3);
  const { carol, bob, host2 } = await twoOps(b1, b2, dirs.dirs);
  await using s = await startMcp(bob, "sess-ops-reply");
  await waitConnected(s);
  ok(await cli(carol, ["send", "bob", "from carol"]));
  const push = await s.waitNotification((n) => n.content.includes("from carol"));
  const replied = await s.call("mesh_reply", { message_id: push.meta.message_id, message: "hi carol" });
  expect(replied).toEqual({ isError: false, text: expect.stringMatching(new RegExp(`^Replied to "carol" \\([0-9a-f]{12}\\) in mesh ops on ${host2} \\(message id [A-Za-z0-9_-]+\\)\\.$`)) });
}, 90_000);

test("mesh_send refuses a reply_to of a message from another mesh than its target's, and sends nothing", async () => {
  await using b1 = await startBroker();
  await using b2 = await startBroker();
  await using dirs = identities(3);
  const { alice, carol, bob, id2, host2 } = await twoOps(b1, b2, dirs.dirs);
  await using s = await startMcp(bob, "sess-ops-reply-to");
  await waitConnected(s);
  ok(await cli(carol, ["send", "bob", "which port?"]));
  const id = (await s.waitNotification((n) => n.content.includes("which port?"))).meta.message_id as string;
  const refused = await s.call("mesh_send", { to: "shop:alice", message: "wrong mesh", reply_to: id });
  expect(refused).toEqual({ isError: true, text: expect.stringContaining(`Nothing was sent: reply_to ${id} is a message from mesh ops on ${host2}, but "shop:alice" is in mesh shop, and a reply goes in the mesh of the message it answers. To answer it, use mesh_reply with message_id "${id}"`) });
  expect(ok(await cli(alice, ["inbox", "--mesh", "shop", "--json"])).json().messages).toEqual([]);
  // In the message's own mesh it goes, as the answer.
  expect((await s.call("mesh_send", { to: `${id2}:carol`, message: "8080", reply_to: id })).isError).toBe(false);
  expect(ok(await cli(carol, ["inbox", "--json"])).json().messages.map((m: { body: string; replyTo?: string }) => [m.body, m.replyTo])).toEqual([["8080", id]]);
}, 90_000);

for (const how of ["leave", "kick"] as const) {
  test(`after a ${how}, the session leaves that mesh out: its slug is no longer shared, and it is said gone once, with its id`, async () => {
    await using b1 = await startBroker();
    await using b2 = await startBroker();
    await using dirs = identities(3);
    const { carol, bob, id2, host2 } = await twoOps(b1, b2, dirs.dirs);
    await using s = await startMcp(bob, `sess-ops-${how}`);
    await waitConnected(s);
    ok(how === "leave" ? await cli(bob, ["leave", id2, "--yes"]) : await cli(carol, ["kick", "bob"]));
    // "ops" is the one left: the prefix names it once the session has seen the other close.
    await until(async () => !(await s.call("mesh_send", { to: "ops:alice", message: "still here" })).isError, "ops:alice to be sent");
    const peers = await s.call("mesh_peers");
    const gone = `No longer in mesh ops on ${host2} (mesh id ${id2}); it is left out from now on. You ${how === "leave" ? "left" : "were removed from"} the mesh "ops"`;
    expect({ isError: peers.isError, heads: peers.text.split("\n").filter((l) => l.startsWith("Mesh ")), gone: peers.text.includes(gone) }).toEqual({ isError: false, heads: ["Mesh ops:", "Mesh shop:"], gone: true });
    // Said once: not by the next listing, nor by mesh_inbox or mesh_status.
    expect((await s.call("mesh_peers")).text).not.toContain("No longer in");
    expect(await s.call("mesh_inbox")).toEqual({ isError: false, text: "No new messages." });
    expect(await s.call("mesh_status", { status: "idle" })).toEqual({ isError: false, text: "Updated status: idle." });
    expect((await s.call("mesh_send", { to: "alice", message: "x" })).text).toContain('several meshes (ops, shop); prefix the target with one, like "ops:bob".');
    // Named by its id, it says why it cannot be used.
    expect(await s.call("mesh_peers", { mesh: id2 })).toMatchObject({ isError: true, text: expect.stringContaining(`the mesh "ops"`) });
  }, 90_000);
}
