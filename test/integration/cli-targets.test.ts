// Who a message goes to, as the CLI resolves it: an ambiguous display name is refused with the
// candidates (never guessed), and what a recipient allows (grant/revoke/block/grants) decides what
// reaches them while the sender is not told.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, cliTeam, sessionOf } from "../helpers/cli.ts";

const bodies = (r: { json(): any }) => r.json().messages.map((m: any) => `${m.from.name}: ${m.body}`);

describe("cli targets", () => {
  test("two members named sam: `send sam` is refused with both key prefixes; a key prefix works", async () => {
    await using b = await startBroker();
    await using ids = identities(3);
    const [alice, sam1, sam2] = ids.dirs as [string, string, string];
    const { members } = await cliMesh(b.url, [
      [alice, "alice"],
      [sam1, "sam"],
    ]);
    const { link } = ok(await cli(alice, ["invite", "--json"])).json();
    const second = ok(await cli(sam2, ["join", link, "--name", "sam", "--json"])).json();
    const keys = [members.sam!.pubkey, second.member.pubkey];

    const human = await cli(alice, ["send", "sam", "hi"]);
    expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 2, stdout: "" });
    expect(human.stderr).toContain(`"sam" matches 2 peers; use a longer name or a key prefix:`);
    for (const k of keys) expect(human.stderr).toContain(`"sam" (member ${k.slice(0, 12)}`);

    const json = await cli(alice, ["send", "sam", "hi", "--json"]);
    expect({ code: json.code, stderr: json.stderr, json: json.json() }).toEqual({
      code: 2,
      stderr: "",
      json: { error: { code: "invalid_argument", message: expect.stringContaining(`"sam" matches 2 peers`) } },
    });
    for (const k of keys) expect(json.json().error.message).toContain(k.slice(0, 12));

    // Nothing was sent; a key prefix picks exactly one of them.
    const bySam2Prefix = await cli(alice, ["send", keys[1]!.slice(0, 10), "hi second sam", "--json"]);
    expect({ code: bySam2Prefix.code, to: bySam2Prefix.json().to, name: bySam2Prefix.json().name }).toEqual({ code: 0, to: keys[1], name: "sam" });
    const inbox1 = await cli(sam1, ["inbox", "--json"]);
    const inbox2 = await cli(sam2, ["inbox", "--json"]);
    expect({ codes: [inbox1.code, inbox2.code], sam1: bodies(inbox1), sam2: bodies(inbox2) }).toEqual({ codes: [0, 0], sam1: [], sam2: ["alice: hi second sam"] });
  }, 60_000);

  test("block, grants, grant and revoke decide what reaches the recipient; the sender is not told", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const { members } = team.mesh;
    const alicePub = members.alice!.pubkey;

    const block = await cli(bob, ["block", "alice"]);
    expect({ code: block.code, stdout: block.stdout }).toEqual({ code: 0, stdout: "Blocked alice: nothing they send reaches you. The broker does not notify them, though the mesh's audit log, which every member can read, records the change. Undo: claudemesh grant alice all\n" });

    const blocked = await cli(alice, ["send", "bob", "you will never read this", "--json"]);
    expect({ code: blocked.code, json: blocked.json() }).toEqual({ code: 0, json: { to: members.bob!.pubkey, name: "bob", messageId: expect.any(String), duplicate: false, createdAt: expect.any(Number), undeliverable: [] } });
    const empty = await cli(bob, ["inbox", "--json"]);
    expect({ code: empty.code, json: empty.json() }).toEqual({ code: 0, json: { messages: [], dropped: 0, waitingForKeys: 0 } });

    const grants = await cli(bob, ["grants", "--json"]);
    expect({ code: grants.code, json: grants.json() }).toEqual({ code: 0, json: { grants: [{ peer: alicePub, name: "alice", caps: [] }], defaults: ["dm", "broadcast", "group", "topic"] } });
    const grantsHuman = await cli(bob, ["grants"]);
    // The sender above was told "Sent": the recipient's own list says so, and where the drops show.
    expect({ code: grantsHuman.code, stdout: grantsHuman.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Everyone else: dm, broadcast, group, topic\\.\\n"alice" \\(${alicePub.slice(0, 12)}\\) +blocked\\n`)) });
    expect(grantsHuman.stdout.split("\n").slice(2)).toEqual([
      'A blocked sender is still told "Sent": the block is not revealed to them. The broker drops what they send you; topic history still lists their posts.',
      "",
    ]);

    const grant = await cli(bob, ["grant", "alice", "all", "--json"]);
    expect({ code: grant.code, json: grant.json() }).toEqual({ code: 0, json: { peer: alicePub, name: "alice", caps: ["dm", "broadcast", "group", "topic"], changed: true, entryRemoved: true } });
    ok(await cli(alice, ["send", "bob", "now you can read me"]));
    const allowed = await cli(bob, ["inbox", "--json"]);
    expect({ code: allowed.code, bodies: bodies(allowed) }).toEqual({ code: 0, bodies: ["alice: now you can read me"] });

    // revoke takes one capability back: DMs stop, broadcasts still arrive.
    const revoke = await cli(bob, ["revoke", "alice", "dm"]);
    expect({ code: revoke.code, stdout: revoke.stdout }).toEqual({ code: 0, stdout: "alice may now: broadcast, group, topic.\n" });
    ok(await cli(alice, ["send", "bob", "dm after revoke"]));
    ok(await cli(alice, ["send", "*", "broadcast after revoke"]));
    const partial = await cli(bob, ["inbox", "--json"]);
    expect({ code: partial.code, bodies: bodies(partial) }).toEqual({ code: 0, bodies: ["alice: broadcast after revoke"] });
    // A narrowed entry is no block: no word about "Sent".
    const narrowed = await cli(bob, ["grants"]);
    expect({ code: narrowed.code, stdout: narrowed.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Everyone else: dm, broadcast, group, topic\\.\\n"alice" \\(${alicePub.slice(0, 12)}\\) +broadcast, group, topic\\n$`)) });

    const badCap = await cli(bob, ["grant", "alice", "telepathy"]);
    expect({ code: badCap.code, stderr: badCap.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`Unknown capability "telepathy"`) });
  }, 60_000);

  test("a grant, revoke or block that changes nothing says so and writes nothing: no entry, no audit entry", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [, bob] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    const auditLength = async () => (ok(await cli(bob, ["audit", "log", "--limit", "500", "--json"])).json().entries as unknown[]).length;
    const before = await auditLength();

    // Everyone may DM by default: granting it pins nothing and announces no change.
    const grant = await cli(bob, ["grant", "alice", "dm"]);
    expect({ code: grant.code, stdout: grant.stdout }).toEqual({ code: 0, stdout: "alice may already: dm, broadcast, group, topic, as everyone may by default. Nothing changed.\n" });
    const grantJson = await cli(bob, ["grant", "alice", "dm", "topic", "--json"]);
    expect({ code: grantJson.code, json: grantJson.json() }).toEqual({ code: 0, json: { peer: alicePub, name: "alice", caps: ["dm", "broadcast", "group", "topic"], changed: false } });
    expect(ok(await cli(bob, ["grants", "--json"])).json().grants).toEqual([]);
    expect(await auditLength()).toBe(before);

    // With an entry of its own: revoking what it already lacks, blocking twice.
    ok(await cli(bob, ["revoke", "alice", "dm"]));
    const again = await cli(bob, ["revoke", "alice", "dm"]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: "alice already may not: dm; they may: broadcast, group, topic. Nothing changed.\n" });
    ok(await cli(bob, ["block", "alice"]));
    const blocked = await auditLength();
    const twice = await cli(bob, ["block", "alice"]);
    expect({ code: twice.code, stdout: twice.stdout }).toEqual({ code: 0, stdout: "alice is already blocked. Nothing changed.\n" });
    const revokeBlocked = await cli(bob, ["revoke", "alice", "topic"]);
    expect({ code: revokeBlocked.code, stdout: revokeBlocked.stdout }).toEqual({ code: 0, stdout: "alice is already blocked. Nothing changed.\n" });
    expect(await auditLength()).toBe(blocked);
    expect(ok(await cli(bob, ["grants", "--json"])).json().grants).toEqual([{ peer: alicePub, name: "alice", caps: [] }]);
  }, 60_000);

  test("free text needs no quotes: every word after the target is the message (send, topic post, summary)", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    ok(await cli(alice, ["send", "bob", "what", "does", "/orders", "return?"]));
    ok(await cli(alice, ["topic", "post", "general", "main", "is", "red"]));
    ok(await cli(alice, ["send", "bob", "quoted as one"]));
    ok(await cli(alice, ["summary", "fixing", "the", "build"]));
    // Human output names each sender with the key prefix its signature proves (names are not unique).
    const alicePub = (ok(await cli(bob, ["peers", "--json"])).json().peers as { displayName: string; pubkey: string }[]).find((p) => p.displayName === "alice")!.pubkey;
    const history = ok(await cli(bob, ["topic", "history", "general"]));
    expect(history.stdout).toContain(`"alice" (${alicePub.slice(0, 12)}) #general: main is red`);
    const inbox = await cli(bob, ["inbox", "--json"]);
    expect(bodies(inbox).sort()).toEqual(["alice: main is red", "alice: quoted as one", "alice: what does /orders return?"]);
    const peers = ok(await cli(bob, ["peers", "--json"])).json().peers as { displayName: string; summary: string }[];
    expect(peers.find((p) => p.displayName === "alice")?.summary).toBe("fixing the build");
  }, 60_000);

  test("a session's entry while its member has one: refused with the reason, since the member's entry wins", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const session = await sessionOf(b.url, alice, "/home/alice/shop");
    const sessionName = (ok(await cli(bob, ["peers", "--json"])).json().peers as { kind: string; displayName: string }[]).find((p) => p.kind === "session")!.displayName;
    // Without a member entry, the session's own entry is what the broker applies.
    expect(ok(await cli(bob, ["block", sessionName, "--json"])).json()).toMatchObject({ caps: [] });
    ok(await cli(bob, ["revoke", "alice", "broadcast"]));
    const refused = await cli(bob, ["grant", sessionName, "all"]);
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: "" });
    expect(refused.stderr).toContain("whose own entry (dm, group, topic) applies to all of their sessions and takes precedence");
    expect(refused.stderr).toContain("claudemesh grant|revoke|block alice");
    session.close();
  }, 60_000);
});
