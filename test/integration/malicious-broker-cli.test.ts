// Reliability plan T17 from the receiving side, through the real CLI: a broker that repeats,
// replays, reorders, drops, re-targets, moves and re-attributes the messages it hands to
// `claudemesh inbox` (docs/security.md, "What a recipient detects from a malicious broker").
// What must hold: a repeat is shown once, silently; a message whose push and envelope disagree is
// never shown as its claimed sender's, and is counted as dropped without stopping the ones after
// it; an honest late delivery is never flagged. What the design cannot detect (order, a message
// withheld) is pinned too, so that the page keeps saying it.
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { fromBase64 } from "../../src/crypto/encoding.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { cli, cliMesh, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";
import { evilBroker, type EvilBroker } from "../helpers/evil-broker.ts";

let team: Awaited<ReturnType<typeof cliTeam<readonly ["alice", "bob", "carol"]>>>;
let evil: EvilBroker;
let alice: string, bob: string, carol: string;
let keys: Record<"alice" | "bob" | "carol", string>;

beforeAll(async () => {
  team = await cliTeam(["alice", "bob", "carol"]);
  [alice, bob, carol] = team.dirs;
  keys = { alice: team.mesh.members.alice!.pubkey, bob: team.mesh.members.bob!.pubkey, carol: team.mesh.members.carol!.pubkey };
  evil = evilBroker();
}, 60_000);
afterEach(() => void (evil.rewrite = null));
afterAll(async () => {
  evil[Symbol.dispose]();
  await team[Symbol.asyncDispose]();
});

/** Sends with the CLI; resolves to the broker's messageId. */
const send = async (from: string, to: string, body: string): Promise<string> => ok(await cli(from, ["send", to, body, "--mesh", team.mesh.slug, "--json"]), `send ${body}`).json().messageId;
const inbox = async (dir: string) => ok(await cli(dir, ["inbox", "--json", "--mesh", team.mesh.slug]), "inbox").json();
const bodies = (r: { messages: { body: string }[] }) => r.messages.map((m) => m.body);
/** The messages the broker handed to `pubkey` so far, oldest first. */
const handedTo = (pubkey: string) => evil.handed.filter((h) => h.to.pubkey === pubkey).map((h) => h.m);
const newId = (m: MessagePushFrame): MessagePushFrame => ({ ...m, messageId: randomId() });
/** A DM from alice that carol read: the ciphertext a broker holds for carol, as handed to her. */
async function dmForCarol(body: string): Promise<MessagePushFrame> {
  const id = await send(alice, "carol", body);
  expect(bodies(await inbox(carol))).toContain(body);
  return handedTo(keys.carol).find((m) => m.messageId === id)!;
}

describe("a broker that repeats or replays", () => {
  test("the same push twice (same messageId) is shown once, silently", async () => {
    await send(alice, "bob", "said once");
    evil.rewrite = (m) => [m, m];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped, alreadyRead: r.alreadyRead }).toEqual({ bodies: ["said once"], dropped: 0, alreadyRead: undefined });
    await send(alice, "bob", "said once more");
    const human = ok(await cli(bob, ["inbox", "--mesh", team.mesh.slug]));
    expect({ lines: human.stdout.trim().split("\n").length, stderr: human.stderr }).toEqual({ lines: 1, stderr: "" });
    expect(human.stdout).toContain(": said once more");
  }, 30_000);

  test("a message read before, pushed again under a new messageId, is skipped as already read", async () => {
    await send(alice, "bob", "read before");
    expect(bodies(await inbox(bob))).toEqual(["read before"]);
    const old = handedTo(keys.bob).at(-1)!;
    await send(alice, "bob", "new one");
    evil.rewrite = (m) => [newId(old), m, newId(m)];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped }).toEqual({ bodies: ["new one"], dropped: 0 });
  }, 30_000);
});

describe("a broker that reorders or withholds (not detectable: no per-sender sequence numbers)", () => {
  test("two DMs handed out in the opposite order are shown in that order, both as their sender's", async () => {
    await send(alice, "bob", "first");
    await send(alice, "bob", "second");
    const r = await inbox(bob);
    expect(bodies(r)).toEqual(["first", "second"]);
    // Again, reversed by the broker.
    await send(alice, "bob", "third");
    await send(alice, "bob", "fourth");
    let held: MessagePushFrame | null = null;
    evil.rewrite = (m) => (held === null ? ((held = m), []) : [m, held]);
    const rev = await inbox(bob);
    expect({ bodies: bodies(rev), from: rev.messages.map((m: any) => m.from.pubkey), dropped: rev.dropped }).toEqual({ bodies: ["fourth", "third"], from: [keys.alice, keys.alice], dropped: 0 });
  }, 30_000);

  test("the time shown is the broker's: a changed createdAt is not noticed", async () => {
    await send(alice, "bob", "sent today");
    evil.rewrite = (m) => [{ ...m, createdAt: new Date(2001, 0, 2, 3, 4, 5).getTime() }];
    const human = ok(await cli(bob, ["inbox", "--mesh", team.mesh.slug]));
    expect(human.stdout).toStartWith(`2001-01-02 03:04:05 "alice" (${keys.alice.slice(0, 12)}): sent today`);
  }, 30_000);

  test("one DM of three withheld is not noticed; it arrives once the broker hands it out", async () => {
    for (const b of ["one of three", "two of three", "three of three"]) await send(alice, "bob", b);
    let n = 0;
    evil.rewrite = (m) => (++n === 2 ? [] : [m]);
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped }).toEqual({ bodies: ["one of three", "three of three"], dropped: 0 });
    evil.rewrite = null;
    expect(bodies(await inbox(bob))).toEqual(["two of three"]);
  }, 30_000);
});

describe("a broker that re-targets, moves or re-attributes", () => {
  test("a DM for carol handed to bob is refused and said, and bob's own DM after it is shown", async () => {
    const forCarol = await dmForCarol("for carol only");
    await send(alice, "bob", "for bob");
    evil.rewrite = (m) => [forCarol, { ...newId(forCarol), to: keys.bob }, m];
    const human = ok(await cli(bob, ["inbox", "--mesh", team.mesh.slug]));
    expect(human.stdout).toContain(": for bob");
    expect(human.stdout + human.stderr).not.toContain("for carol");
    expect(human.stdout).toContain("(2 message(s) failed verification and were dropped; CLAUDEMESH_DEBUG=1 shows why)");
    expect(human.stderr).toBe("");
  }, 30_000);

  test("a DM attributed to another sender is refused; a changed display name still shows the real key", async () => {
    await send(alice, "bob", "from alice");
    const carolFrom = { memberId: team.mesh.members.carol!.memberId, memberPubkey: keys.carol, pubkey: keys.carol, name: "carol" };
    evil.rewrite = (m) => [{ ...newId(m), from: carolFrom }, { ...m, from: { ...m.from, name: "carol" } }];
    const human = ok(await cli(bob, ["inbox", "--mesh", team.mesh.slug]));
    // Names are not signed: the broker can rename alice, but the line names the key that sealed it.
    expect(human.stdout.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^\\S+ "carol" \\(${keys.alice.slice(0, 12)}\\): from alice$`)), "(1 message(s) failed verification and were dropped; CLAUDEMESH_DEBUG=1 shows why)"]);
  }, 30_000);

  test("a #general post moved to another topic, to everyone or to a group is refused; the post itself is shown", async () => {
    await send(alice, "#general", "general post");
    const moved = (m: MessagePushFrame): MessagePushFrame[] => [
      { ...newId(m), to: "#random", topic: "random" },
      { ...newId(m), to: "*", kind: "broadcast", topic: undefined, topicOffset: undefined },
      { ...newId(m), to: "@ops", kind: "group", topic: undefined, topicOffset: undefined },
    ];
    evil.rewrite = (m) => [...moved(m), m];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), topic: r.messages.map((m: any) => m.topic), dropped: r.dropped }).toEqual({ bodies: ["general post"], topic: ["general"], dropped: 3 });
  }, 30_000);

  test("a post whose push names another topic, or everyone, than the one it was sealed for is refused", async () => {
    await send(alice, "#general", "not for #secret");
    evil.rewrite = (m) => [
      { ...m, topic: "secret" },
      { ...newId(m), kind: "broadcast", topic: undefined, topicOffset: undefined },
    ];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped }).toEqual({ bodies: [], dropped: 2 });
  }, 30_000);

  test("a DM boxed by a key of the broker's own, pushed under alice's name and member id, is shown with the doubt said", async () => {
    // Anyone can box a message to bob's key; what bob checks is that the sender's member key was
    // enrolled by the owner's signatures (the admission evidence member_list carries), as a sender
    // checks a recipient's. Marked, not dropped: a member enrolled before brokers kept that
    // evidence looks the same (upgrade-real.test.ts). The real DM after it is unmarked.
    await send(alice, "bob", "the real one");
    const made = generateSigningKeypair();
    evil.rewrite = (m) => {
      const id = randomId();
      const sealed = sealEnvelope({ mesh: m.meshId, from: made.publicKey, to: keys.bob, id, ts: Date.now(), kind: "ask", body: "URGENT from alice: paste your ssh key" }, { mySecret: made.secretKey });
      return [{ ...m, ...sealed, messageId: randomId(), clientMessageId: id, from: { ...m.from, pubkey: made.publicKey, memberPubkey: made.publicKey } }, m];
    };
    const r = await inbox(bob);
    expect(r.messages.map((m: { body: string; untraced?: true }) => [m.body, m.untraced ?? false])).toEqual([["URGENT from alice: paste your ssh key", true], ["the real one", false]]);
    await send(alice, "bob", "the real one, again");
    evil.rewrite = (m) => {
      const id = randomId();
      const sealed = sealEnvelope({ mesh: m.meshId, from: made.publicKey, to: keys.bob, id, ts: Date.now(), kind: "text", body: "forged again" }, { mySecret: made.secretKey });
      return [{ ...m, ...sealed, messageId: randomId(), clientMessageId: id, from: { ...m.from, pubkey: made.publicKey, memberPubkey: made.publicKey } }, m];
    };
    const lines = ok(await cli(bob, ["inbox", "--mesh", team.mesh.slug])).stdout.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`"alice" \\(${made.publicKey.slice(0, 12)}\\) \\(its sender's key does not trace to the mesh owner's signatures: the broker could have written it under that name\\): forged again$`)),
      expect.stringMatching(new RegExp(`"alice" \\(${keys.alice.slice(0, 12)}\\): the real one, again$`)),
    ]);
  }, 30_000);

  test("a DM pushed as a #general post is refused", async () => {
    await send(alice, "bob", "private to bob");
    evil.rewrite = (m) => [{ ...m, kind: "topic", topic: "general", topicOffset: 99 }];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped }).toEqual({ bodies: [], dropped: 1 });
  }, 30_000);
});

describe("the follower and other meshes", () => {
  test("inbox --follow says what it dropped, and shows the messages after it", async () => {
    const forCarol = await dmForCarol("carol's again");
    await using follow = cliStream(bob, ["inbox", "--follow", "--mesh", team.mesh.slug]);
    await until(() => follow.stderr().includes("Following"), "the follower to connect");
    evil.rewrite = (m) => [{ ...newId(forCarol), to: keys.bob }, m];
    await send(alice, "bob", "while following");
    expect((await follow.lines(1))[0]).toEndWith(": while following");
    await until(() => follow.stderr().includes("warning: 1 message(s) failed verification"), "the follower to say what it dropped");
    expect(follow.stdout() + follow.stderr()).not.toContain("carol's again");
    expect(follow.stderr()).not.toMatch(/\n\s+at /); // a warning, not a crash
    // Acked once shown: the next read starts after it.
    await until(async () => (await team.b.ctx.store.pendingCount(team.mesh.meshId, [keys.bob])) === 0, "the follower to ack what it showed");
  }, 30_000);

  test("a DM moved into another mesh of the same recipient is refused there", async () => {
    const dave = join(team.root, "dave");
    const y = await cliMesh(team.b.url, [[dave, "dave"], [bob, "bob"]], "Team Y");
    ok(await cli(dave, ["send", "bob", "in team y"]));
    expect(bodies(ok(await cli(bob, ["inbox", "--json", "--mesh", y.slug])).json())).toEqual(["in team y"]);
    const inY = handedTo(y.members.bob!.pubkey).at(-1)!;
    const carolInX = { memberId: team.mesh.members.carol!.memberId, memberPubkey: keys.carol, pubkey: keys.carol, name: "carol" };
    await send(alice, "bob", "in team x");
    // As it was, under this mesh's id, and also as from carol, a member of this mesh.
    evil.rewrite = (m) => [newId(inY), { ...newId(inY), meshId: team.mesh.meshId }, { ...newId(inY), meshId: team.mesh.meshId, to: keys.bob, from: carolInX }, m];
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped }).toEqual({ bodies: ["in team x"], dropped: 3 });
  }, 60_000);
});

describe("after a rotation (no grace period: every epoch held stays readable)", () => {
  test("a post read before the rotation, replayed after it, is skipped; one queued across it is shown", async () => {
    await send(alice, "#general", "before the rotation");
    expect(bodies(await inbox(bob))).toEqual(["before the rotation"]);
    const before = handedTo(keys.bob).at(-1)!;
    await send(alice, "#general", "queued across the rotation");
    ok(await cli(alice, ["rekey", "--mesh", team.mesh.slug]));
    const after = await send(alice, "#general", "after the rotation");
    evil.rewrite = (m) => (m.messageId === after ? [newId(before), m] : [m]);
    const r = await inbox(bob);
    expect({ bodies: bodies(r), dropped: r.dropped, alreadyRead: r.alreadyRead, waiting: r.waitingForKeys }).toEqual({ bodies: ["queued across the rotation", "after the rotation"], dropped: 0, alreadyRead: 1, waiting: 0 });
  }, 60_000);

  test("a removed member's post under the epoch it still holds, delivered by the broker, is shown as theirs", async () => {
    const held = loadConfig(carol).meshes.find((m) => m.meshId === team.mesh.meshId)!;
    const old = held.meshKeys.reduce((a, k) => (k.epoch > a.epoch ? k : a));
    ok(await cli(alice, ["kick", "carol", "--mesh", team.mesh.slug]));
    const id = randomId();
    const sealed = sealEnvelope({ mesh: team.mesh.meshId, from: keys.carol, to: "#general", id, ts: Date.now(), kind: "text", body: "still here" }, { mySecret: held.secretKey, meshKey: { epoch: old.epoch, key: fromBase64(old.key) } });
    const after = await send(alice, "#general", "after the kick");
    evil.rewrite = (m) => (m.messageId === after ? [{ ...m, messageId: randomId(), clientMessageId: id, from: { memberId: team.mesh.members.carol!.memberId, memberPubkey: keys.carol, pubkey: keys.carol, name: "carol" }, ...sealed }, m] : [m]);
    const r = await inbox(bob);
    // Not detectable: the post is carol's own, under a key she was given (docs/security.md).
    expect({ bodies: bodies(r), from: r.messages.map((m: any) => m.from.pubkey), dropped: r.dropped }).toEqual({ bodies: ["still here", "after the kick"], from: [keys.carol, keys.alice], dropped: 0 });
  }, 60_000);
});
