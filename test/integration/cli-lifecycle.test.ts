// The CLI end to end as a user drives it: new → invite → join → peers → send/topic/broadcast →
// inbox, with the broker's database checked for plaintext afterwards (it must hold ciphertext
// only) and the local config checked for private modes (dirs 0700, files 0600). Also `leave` and
// `inbox --follow`. Each identity is its own CLAUDEMESH_CONFIG_DIR; the broker runs in-process.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliStream, identities, ok, cliTeam, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

/** Every file and directory under `dir`, with its permission bits. */
function modes(dir: string): { path: string; mode: string }[] {
  const out = [{ path: dir, mode: (statSync(dir).mode & 0o777).toString(8) }];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...modes(p));
    else out.push({ path: p, mode: (statSync(p).mode & 0o777).toString(8) });
  }
  return out;
}

/** A message as the tests compare it: who, what kind, where, and the decrypted text. */
const brief = (m: any) => ({ from: m.from.name, kind: m.kind, topic: m.topic, body: m.body });

describe("cli lifecycle", () => {
  test("three identities: create, invite, join, message, read; the broker never stores a plaintext", async () => {
    await using b = await startBroker();
    await using ids = identities(3);
    const [alice, bob, carol] = ids.dirs as [string, string, string];
    const db = (b.ctx.store as SqliteStore).db;

    const created = await cli(alice, ["new", "Team X", "--broker", b.url, "--display-name", "alice", "--json"]);
    expect(created.code).toBe(0);
    const alicePub = created.json().member.pubkey;
    expect(created.json()).toEqual({
      mesh: { id: expect.stringMatching(/^[A-Za-z0-9_-]{8,}$/), slug: "team-x", name: "Team X", broker: b.url },
      member: { id: expect.any(String), pubkey: expect.stringMatching(/^[0-9a-f]{64}$/), displayName: "alice", role: "owner" },
    });

    const invite = await cli(alice, ["invite", "--json"]);
    expect(invite.code).toBe(0);
    const inv = invite.json();
    expect(inv).toEqual({ inviteId: expect.any(String), role: "member", maxUses: 1, expiresAt: expect.any(Number), link: expect.stringMatching(/^ic:\/\/join\/[A-Za-z0-9_-]+$/) });
    // No browser form is offered (a page the broker serves would read its secret), and the
    // output says to paste the link on stdin rather than put it on the command line.
    expect(ok(await cli(alice, ["invite"])).stdout).toContain("Join with: claudemesh join -");
    // Default lifetime is 7 days.
    expect(Math.abs(inv.expiresAt - (Date.now() / 1000 + 7 * 86_400))).toBeLessThan(60);

    // bob joins with the browser form an earlier version made: it is still read.
    const bobJoin = await cli(bob, ["join", `${b.url}/join#${inv.link.slice("ic://join/".length)}`, "--name", "bob", "--json"]);
    expect(bobJoin.code).toBe(0);
    const joined = bobJoin.json();
    expect({ mesh: joined.mesh, role: joined.member.role, name: joined.member.displayName, others: joined.members.map((m: any) => [m.displayName, m.role, m.pubkey]), keysCurrent: joined.keysCurrent }).toEqual({
      mesh: created.json().mesh,
      role: "member",
      name: "bob",
      others: [["alice", "owner", alicePub]],
      keysCurrent: true,
    });

    // carol joins with a second invite, in human mode.
    const second = await cli(alice, ["invite"]);
    expect(second.code).toBe(0);
    const link2 = second.stdout.split("\n")[0]!;
    expect(link2).toMatch(/^ic:\/\/join\//);
    expect(second.stdout).toContain("member, 1 use, expires");
    const carolJoin = await cli(carol, ["join", link2, "--name", "carol"]);
    expect({ code: carolJoin.code, stderr: carolJoin.stderr }).toEqual({ code: 0, stderr: "" });
    expect(carolJoin.stdout).toContain(`Joined "Team X" (team-x) as carol (member).\nAlso here: alice (owner), bob (member).`);

    const peers = await cli(alice, ["peers", "--json"]);
    expect(peers.code).toBe(0);
    expect(peers.json().peers.map((p: any) => [p.displayName, p.kind]).sort()).toEqual([
      ["alice", "member"],
      ["bob", "member"],
      ["carol", "member"],
    ]);

    const TEXTS = { dm: "dm: the staging password is tangerine-42", general: "general: deploy freeze starts at noon", all: "everyone: pizza in the lobby at six", backend: "backend: orders API returns 418 now" };
    const dm = await cli(alice, ["send", "bob", TEXTS.dm]);
    expect({ code: dm.code, stdout: dm.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^Sent to "bob" \([0-9a-f]{12}\)\. id [A-Za-z0-9_-]+\n$/) });
    const general = await cli(alice, ["topic", "post", "general", TEXTS.general]);
    expect({ code: general.code, stdout: general.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^Sent to #general \(#1\)\. id /) });
    const all = await cli(alice, ["send", "*", TEXTS.all, "--json"]);
    expect(all.code).toBe(0);
    expect(all.json()).toEqual({ to: "*", name: "everyone", messageId: expect.any(String), duplicate: false, createdAt: expect.any(Number), undeliverable: [] });
    const topicCreate = await cli(alice, ["topic", "create", "backend"]);
    expect({ code: topicCreate.code, stdout: topicCreate.stdout }).toEqual({ code: 0, stdout: "Created #backend; you are its lead. Others join with: claudemesh topic join backend\n" });
    const topicJoin = await cli(bob, ["topic", "join", "backend"]);
    expect({ code: topicJoin.code, stdout: topicJoin.stdout }).toEqual({ code: 0, stdout: "Joined #backend.\n" });
    const backend = await cli(alice, ["topic", "post", "backend", TEXTS.backend]);
    expect(backend.code).toBe(0);

    const inbox = await cli(bob, ["inbox", "--json"]);
    expect(inbox.code).toBe(0);
    const expected = [
      { from: "alice", kind: "direct", topic: null, body: TEXTS.dm },
      { from: "alice", kind: "topic", topic: "general", body: TEXTS.general },
      { from: "alice", kind: "broadcast", topic: null, body: TEXTS.all },
      { from: "alice", kind: "topic", topic: "backend", body: TEXTS.backend },
    ];
    expect({ ...inbox.json(), messages: inbox.json().messages.map(brief) }).toEqual({ messages: expected, dropped: 0, waitingForKeys: 0 });

    const again = await cli(bob, ["inbox", "--json"]);
    expect(again.code).toBe(0);
    expect(again.json()).toEqual({ messages: [], dropped: 0, waitingForKeys: 0 });
    const againHuman = await cli(bob, ["inbox"]);
    expect({ code: againHuman.code, stdout: againHuman.stdout }).toEqual({ code: 0, stdout: "No new messages.\n" });

    const history = await cli(bob, ["inbox", "--all", "--json"]);
    expect(history.code).toBe(0);
    expect(history.json().messages.map(brief)).toEqual(expected);

    // carol is not in #backend and was not the DM's recipient.
    const carolInbox = await cli(carol, ["inbox", "--json"]);
    expect(carolInbox.code).toBe(0);
    expect(carolInbox.json().messages.map(brief)).toEqual([expected[1], expected[2]]);

    // The broker's files, as bytes on disk: no plaintext anywhere, but the routing metadata is
    // there (so the scan does read the live data).
    const files = readdirSync(b.dataDir).filter((f) => /^claudemesh\.db(-wal)?$/.test(f));
    expect(files.sort()).toEqual(["claudemesh.db", "claudemesh.db-wal"]);
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(b.dataDir, f))));
    expect(bytes.includes("carol") && bytes.includes("backend")).toBe(true);
    expect(Object.values(TEXTS).filter((t) => bytes.includes(t) || bytes.includes(t.split(": ")[1]!))).toEqual([]);
    expect((db.query("SELECT COUNT(*) AS n FROM messages WHERE ciphertext LIKE '%tangerine%' OR ciphertext LIKE '%pizza%'").get() as { n: number }).n).toBe(0);

    // Local files: directories 0700, files 0600, for every identity.
    for (const dir of [alice, bob, carol]) {
      const bad = modes(dir).filter((e) => e.mode !== (statSync(e.path).isDirectory() ? "700" : "600"));
      expect(bad).toEqual([]);
    }
    expect(existsSync(join(bob, "messages"))).toBe(true);
  }, 90_000);

  test("leave --yes revokes the member at the broker and forgets the mesh locally", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const { slug, meshId, members } = team.mesh;
    ok(await cli(alice, ["send", "bob", "before you go"]));
    ok(await cli(bob, ["inbox"]));
    // A Claude Code session of bob's reads one too: it has its own session key and replay memory.
    await using session = await startMcp(bob, "sess-bob-leaving");
    await waitConnected(session);
    ok(await cli(alice, ["send", "bob", "to your session"]));
    let read = "";
    await until(async () => (read += (await session.call("mesh_inbox")).text).includes("to your session"), "bob's session to read the message");
    await session.close();
    const kind = (name: string) => (name === `${meshId}.json` ? "cli" : name === `${meshId}.machine.json` ? "machine" : new RegExp(`^${meshId}\\.[0-9a-f]{16}\\.json$`).test(name) ? "session" : name);
    expect(readdirSync(join(bob, "seen")).map(kind).sort()).toEqual(["cli", "machine", "session"]);
    expect(readdirSync(join(bob, "sessions"))).toEqual([meshId]);
    const db = (b.ctx.store as SqliteStore).db;
    const revokedAt = () => (db.query("SELECT revoked_at FROM members WHERE id = ?").get(members.bob!.memberId) as { revoked_at: number | null }).revoked_at;
    expect(revokedAt()).toBeNull();

    // The mesh is always named, even the only one: citty's bare "Missing required positional
    // argument: SLUG." became the command to type, the options given kept.
    const why = "Name the mesh to leave: leaving deletes your keys for it for good, so leave never picks one for you, even your only mesh.";
    const unnamed = await cli(bob, ["leave", "--yes"]);
    expect({ code: unnamed.code, stdout: unnamed.stdout, stderr: unnamed.stderr }).toEqual({ code: 2, stdout: "", stderr: `claudemesh: ${why}\n  fix: claudemesh leave ${slug} --yes\n` });
    const unnamedJson = await cli(alice, ["leave", "--yes", "--forget", "--json"]);
    expect({ code: unnamedJson.code, json: unnamedJson.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: why, fix: `claudemesh leave ${slug} --yes --forget` } } });
    expect(revokedAt()).toBeNull();

    // Without a terminal, leaving needs --yes.
    const unconfirmed = await cli(bob, ["leave", slug]);
    expect({ code: unconfirmed.code, stderr: unconfirmed.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("confirm with --yes") });
    expect(revokedAt()).toBeNull();

    const left = await cli(bob, ["leave", slug, "--yes"]);
    expect({ code: left.code, stdout: left.stdout }).toEqual({ code: 0, stdout: `Left "Team X"; its keys are deleted from this machine.\n` });
    expect(revokedAt()).toEqual(expect.any(Number));
    const list = await cli(bob, ["list", "--json"]);
    expect(list.code).toBe(0);
    expect(list.json()).toEqual({ meshes: [] });
    expect(readdirSync(join(bob, "messages"))).toEqual([]);
    expect({ seen: readdirSync(join(bob, "seen")), sessions: readdirSync(join(bob, "sessions")) }).toEqual({ seen: [], sessions: [] });
    // The owner still sees the mesh; bob's old key is refused.
    const aliceList = await cli(alice, ["list", "--json"]);
    expect(aliceList.json().meshes.map((m: any) => [m.slug, m.reachable, m.brokerProblem])).toEqual([[slug, true, null]]);
    const leaveAgain = await cli(bob, ["leave", slug, "--yes", "--json"]);
    expect({ code: leaveAgain.code, json: leaveAgain.json() }).toEqual({ code: 4, json: { error: { code: "not_found", message: expect.stringContaining("You have not joined any mesh") } } });
    // No mesh at all: that is the answer, with or without a slug.
    const noMesh = await cli(bob, ["leave", "--yes", "--json"]);
    expect({ code: noMesh.code, json: noMesh.json() }).toEqual({ code: leaveAgain.code, json: leaveAgain.json() });

    // The owner cannot leave the mesh it owns; --forget deletes its keys here without the broker.
    const ownerLeaves = await cli(alice, ["leave", slug, "--yes"]);
    expect({ code: ownerLeaves.code, stderr: ownerLeaves.stderr }).toEqual({ code: 3, stderr: expect.stringContaining(`an owner cannot leave it, since only the owner can rotate its keys or remove members. To delete your keys for it from this machine anyway (the mesh stays on the broker, and nobody can manage it any more): claudemesh leave ${slug} --yes --forget`) });
    const forgot = await cli(alice, ["leave", slug, "--yes", "--forget", "--json"]);
    expect({ code: forgot.code, json: forgot.json() }).toEqual({ code: 0, json: { left: slug, toldBroker: false } });
    expect((await cli(alice, ["list", "--json"])).json()).toEqual({ meshes: [] });
    expect((db.query("SELECT revoked_at FROM members WHERE pubkey = ?").get(members.alice!.pubkey) as { revoked_at: number | null }).revoked_at).toBeNull();
  }, 60_000);

  test("inbox --follow shows a message whose ack failed, once: the broker's redelivery is dropped as seen", async () => {
    // The follower used to print a batch only after its ack committed: an ack lost to a broker
    // restart left a message recorded as seen (so its redelivery was dropped) but never printed.
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob] } = team;
    const store = b.ctx.store as SqliteStore;
    const commitWrites = store.commitWrites.bind(store);
    let failedAcks = 0;
    store.commitWrites = async (batch, ...rest) => {
      if (batch.acks.length > 0 && failedAcks === 0) {
        failedAcks++;
        throw new (await import("../../src/protocol/errors.ts")).MeshError("unavailable", "injected: the broker restarted");
      }
      return commitWrites(batch, ...rest);
    };
    await using follow = cliStream(bob, ["inbox", "--follow", "--json"]);
    ok(await cli(alice, ["send", "bob", "survives a lost ack"]));
    expect((await follow.lines(1, 15_000)).map((l) => JSON.parse(l).body)).toEqual(["survives a lost ack"]);
    await until(() => failedAcks > 0, "the ack after the print"); // printed first, acked after
    expect(failedAcks).toBe(1);
    // A new connection gets the unacked message again; it must not be shown a second time.
    follow.proc.kill("SIGINT");
    expect(await follow.proc.exited).toBe(0);
    await using again = cliStream(bob, ["inbox", "--follow", "--json"]);
    ok(await cli(alice, ["send", "bob", "next one"]));
    expect((await again.lines(1, 15_000)).map((l) => JSON.parse(l).body)).toEqual(["next one"]);
    again.proc.kill("SIGINT");
    await again.proc.exited;
  });

  test("inbox --follow --json streams one JSON object per message and exits 0 on SIGINT", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    await using follow = cliStream(bob, ["inbox", "--follow", "--json"]);
    ok(await cli(alice, ["send", "bob", "first streamed"]));
    ok(await cli(alice, ["send", "bob", "second streamed", "--priority", "low"]));
    const lines = await follow.lines(2, 15_000);
    expect(lines.map((l) => JSON.parse(l)).map((m) => ({ ...brief(m), priority: m.priority }))).toEqual([
      { from: "alice", kind: "direct", topic: null, body: "first streamed", priority: "next" },
      { from: "alice", kind: "direct", topic: null, body: "second streamed", priority: "low" },
    ]);
    follow.proc.kill("SIGINT");
    expect(await follow.proc.exited).toBe(0);
    expect(follow.stderr()).toBe("");
    // Both were acked before the stream ended: nothing is waiting, both are in the local history.
    const after = await cli(bob, ["inbox", "--json"]);
    expect({ code: after.code, json: after.json() }).toEqual({ code: 0, json: { messages: [], dropped: 0, waitingForKeys: 0 } });
    const history = await cli(bob, ["inbox", "--all", "--json"]);
    expect(history.json().messages.map((m: any) => m.body)).toEqual(["first streamed", "second streamed"]);
  }, 60_000);
});
