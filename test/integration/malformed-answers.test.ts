// A broker whose answers to requests are malformed (docs/protocol.md §4.3; DESIGN.md §3: a relay
// that must not make the client misbehave): every answer is checked against its request's schema
// before anything reads it (src/protocol/result-schemas.ts, in the client's request table), so a
// list that is null, an entry that is null or no object, a field of the wrong type, a key that is
// not 64 lowercase hex digits or a string past its bound gives one sentence naming the broker, the
// request and the field, with exit 6 (the CLI) or a tool error (the MCP server), and nothing is done
// with it. Before, these crashed ("null is not an object", exit 1), or printed or acted on junk.
// The real in-process broker, lying through test/helpers/evil-broker.ts; the CLI as a subprocess and
// the MCP server over stdio.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { RequestType } from "../../src/protocol/frames.ts";
import { cli, cliTeam, identities, ok } from "../helpers/cli.ts";
import { evilBroker, type Answer, type EvilBroker } from "../helpers/evil-broker.ts";
import { startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";

let team: Awaited<ReturnType<typeof cliTeam<readonly ["alice", "bob"]>>>;
let evil: EvilBroker;
let alice: string;
let bobPubkey: string;

beforeAll(async () => {
  team = await cliTeam(["alice", "bob"]);
  alice = team.dirs[0];
  bobPubkey = team.mesh.members.bob!.pubkey;
  ok(await cli(alice, ["topic", "post", "general", "so that history has a page"]));
  evil = evilBroker();
}, 60_000);
afterEach(() => void (evil.answer = null));
afterAll(async () => {
  evil[Symbol.dispose]();
  await team[Symbol.asyncDispose]();
});

/** `lies` answers the requests it names with what it returns from the honest answer. */
const lying = (lies: Partial<Record<RequestType, (d: any) => unknown>>): Answer => (type, d) => lies[type]?.(d);
/** The sentence of a malformed `type` answer, up to what is wrong with it; BROKER stands for the
 *  broker's URL, known once it runs (brokerAt). */
const said = (label: string, type: string, fault: string) => `claudemesh: ${label} failed: the broker at BROKER sent a malformed ${type} answer: ${fault}. Nothing in it was used.`;
const brokerAt = (line: string) => line.replace("BROKER", team.b.url);
const bobOnly = (d: any) => d.peers.filter((p: any) => p.pubkey === bobPubkey);

/** invite_list answered with the first invite it listed as `next`, every time. */
function samePlaceAgain(): Partial<Record<RequestType, (d: any) => unknown>> {
  let first: string | undefined;
  return { invite_list: (d) => ({ invites: d.invites, next: (first ??= d.invites[0]?.inviteId) }) };
}

// [command, lies, the start of its error line]
const CASES: [string[], Partial<Record<RequestType, (d: any) => unknown>>, string][] = [
  [["peers"], { list_peers: () => 42 }, said("Listing peers", "list_peers", "the answer should be an object, not 42")],
  [["peers"], { list_peers: () => ({ peers: null }) }, said("Listing peers", "list_peers", "/peers should be a list, not null")],
  [["peers"], { list_peers: (d) => ({ peers: [null, ...d.peers] }) }, said("Listing peers", "list_peers", "/peers/0 should be an object, not null")],
  [["peers"], { list_peers: (d) => ({ peers: d.peers.map((p: any) => ({ ...p, summary: "x".repeat(600) })) }) }, said("Listing peers", "list_peers", "/peers/0/summary should be a string of at most 512 characters, not a string of 600 characters")],
  [["peers"], { list_peers: (d) => ({ peers: d.peers.map(({ online: _, ...p }: any) => p) }) }, said("Listing peers", "list_peers", "/peers/0/online is missing")],
  // A name resolved over the whole list (the lookup no evidence) to a key that is no key: nothing
  // is encrypted to it.
  [["send", "bob", "to a key that is none"], { peer_lookup: () => ({ peers: "bob" }), list_peers: (d) => ({ peers: bobOnly(d).map((p: any) => ({ ...p, pubkey: "G".repeat(64) })) }) }, said("Listing peers", "list_peers", "/peers/0/pubkey should be 32-byte key, lowercase hex, not a string of 64 characters")],
  [["rekey"], { member_list: () => ({ members: [null] }) }, said("Listing members", "member_list", "/members/0 should be an object, not null")],
  [["topic", "list"], { topic_list: (d) => ({ topics: d.topics.map((t: any) => ({ ...t, name: 5 })) }) }, said("Listing topics", "topic_list", "/topics/0/name should be topic name without #, not 5")],
  [["topic", "history", "general"], { topic_history: (d) => ({ ...d, messages: "none" }) }, said("Reading the topic's history", "topic_history", "/messages should be a list, not a string of 4 characters")],
  [["inbox"], { fetch: () => ({ messages: [null], remaining: 0 }) }, said("Fetching messages", "fetch", "/messages/0 should be an object, not null")],
  [["grants"], { grant_list: (d) => ({ ...d, grants: [{ peer: "x", caps: ["dm"] }] }) }, said("Listing grants", "grant_list", "/grants/0/peer should be 32-byte key, lowercase hex, not a string of 1 character")],
  [["invite", "list"], { invite_list: () => ({ invites: "x" }) }, said("Listing invites", "invite_list", "/invites should be a list, not a string of 1 character")],
  // Pages that would never end: the same place (an invite of the mesh) named as `next` again (§4.3.23).
  [["invite", "list", "--all"], samePlaceAgain(), said("Listing invites", "invite_list", "its next names a place in the list it named before, so the pages would never end")],
  [["audit", "log"], { audit_log: (d) => ({ entries: d.entries.map((e: any) => ({ ...e, seq: -1 })) }) }, said("Reading the audit log", "audit_log", "/entries/0/seq should be a whole number, 0 or more, not -1")],
];

describe("the CLI meets a malformed answer with one sentence and exit 6", () => {
  for (let [args, lies, line] of CASES) {
    test(`${args.join(" ")}: ${line.slice(line.indexOf("answer: ") + 8, -"Nothing in it was used.".length - 2)}`, async () => {
      evil.answer = lying(lies);
      const r = await cli(alice, args);
      line = brokerAt(line);
      expect({ code: r.code, line: r.stderr.split("\n")[0]!.slice(0, line.length), stack: r.stderr.includes("    at ") }).toEqual({ code: 6, line, stack: false });
    }, 30_000);
  }

  test("a send answered malformed may have been stored: the fix names its client message id, in both modes", async () => {
    evil.answer = lying({ send: (d) => ({ ...d, undeliverable: null }) });
    const sendSaid = brokerAt(said("Sending the message", "send", "/undeliverable should be a list, not null"));
    const human = await cli(alice, ["send", "bob", "answered with junk"]);
    const json = await cli(alice, ["send", "bob", "answered with junk", "--json"]);
    expect({ code: human.code, line: human.stderr.split("\n")[0] }).toEqual({ code: 6, line: expect.stringContaining(sendSaid) });
    expect(human.stderr).toMatch(/fix: the broker may have stored it: to send it again without a duplicate, run the same command with --client-message-id \S+/);
    expect({ code: json.code, error: json.json().error }).toEqual({
      code: 6,
      error: { code: "unavailable", message: expect.stringContaining(sendSaid.slice("claudemesh: ".length)), fix: expect.stringContaining("--client-message-id"), clientMessageId: expect.any(String) },
    });
  }, 30_000);
});

describe("a change answered malformed", () => {
  test("says it may have been carried out all the same: the broker answers a change once it is made", async () => {
    evil.answer = lying({ topic_create: (d) => ({ topic: { ...d.topic, members: -1 } }) });
    const r = await cli(alice, ["topic", "create", "made-all-the-same"]);
    expect({ code: r.code, line: r.stderr.split("\n")[0] }).toEqual({
      code: 6,
      line: `${brokerAt(said("Creating the topic", "topic_create", "/topic/members should be a whole number, 0 or more, not -1"))} That broker runs another claudemesh version than this one, or is faulty or modified: tell its operator. It may have been carried out all the same: check before doing it again.`,
    });
    evil.answer = null;
    expect(ok(await cli(alice, ["topic", "list", "--json"])).json().topics.map((t: { name: string }) => t.name)).toContain("made-all-the-same");
  }, 30_000);
});

describe("the MCP server meets a malformed answer with a tool error naming it", () => {
  let bob: McpSession;
  beforeAll(async () => {
    bob = await startMcp(team.dirs[1], "malformed-bob");
    await waitConnected(bob);
  }, 60_000);
  afterAll(() => bob.close());

  test("mesh_peers: a list with a null entry", async () => {
    evil.answer = lying({ list_peers: (d) => ({ peers: [...d.peers, null] }) });
    const r = await bob.call("mesh_peers");
    expect(r).toEqual({ isError: true, text: expect.stringMatching(/Listing peers failed: the broker at \S+ sent a malformed list_peers answer: \/peers\/\d+ should be an object, not null\. Nothing in it was used\./) });
  }, 30_000);

  test("mesh_send by name: no usable lookup, and a whole list whose key for the name is none: nothing is sent", async () => {
    const alicePubkey = team.mesh.members.alice!.pubkey;
    evil.answer = lying({ peer_lookup: () => ({ peers: [null], complete: true, nameRule: 1 }), list_peers: (d) => ({ peers: d.peers.map((p: any) => (p.pubkey === alicePubkey ? { ...p, pubkey: "not a key" } : p)) }) });
    const r = await bob.call("mesh_send", { to: "alice", message: "to a key that is none" });
    expect(r).toEqual({ isError: true, text: expect.stringMatching(/^unavailable: Nothing was sent: looking up "alice" on mesh \S+ failed\. Listing peers failed: the broker at \S+ sent a malformed list_peers answer: \/peers\/\d+\/pubkey should be 32-byte key, lowercase hex, not a string of 9 characters/) });
    evil.answer = null;
    expect((ok(await cli(alice, ["inbox", "--json"])).json().messages as { body: string }[]).map((m) => m.body)).not.toContain("to a key that is none");
  }, 30_000);
});

describe("join meets a malformed claim answer (HTTP) the same way, and keeps its key for the next try", () => {
  test("a member row with a name past its bound: exit 6, nothing saved; the same command then joins with the same key", async () => {
    await using ids = identities(1);
    const carol = ids.dirs[0]!;
    const { link } = ok(await cli(alice, ["invite", "--json"])).json();
    const store = team.b.ctx.store;
    const real = store.listActiveMembers.bind(store);
    store.listActiveMembers = async (meshId: string) => (await real(meshId)).map((m) => ({ ...m, displayName: "a".repeat(200) }));
    let lied;
    try {
      lied = await cli(carol, ["join", link, "--display-name", "carol"]);
    } finally {
      store.listActiveMembers = real;
    }
    expect({ code: lied.code, line: lied.stderr.split("\n")[0] }).toEqual({
      code: 6,
      line: `claudemesh: Joining the mesh failed: the broker at ${team.b.url} sent a malformed POST /v1/invites/…/claim answer: /members/0/displayName should be a string of at most 64 characters, not a string of 200 characters. Nothing in it was used. That broker runs another claudemesh version than this one, or is faulty or modified: tell its operator. It may have been carried out all the same: run the same command again, which sends the same key and gets that answer.`,
    });
    expect((ok(await cli(carol, ["list", "--json"])).json().meshes as unknown[]).length).toBe(0);
    const again = ok(await cli(carol, ["join", link, "--display-name", "carol", "--json"])).json();
    const members = ok(await cli(alice, ["peers", "--json"])).json().peers as { displayName: string; pubkey: string }[];
    expect(members.filter((p) => p.displayName === "carol").map((p) => p.pubkey)).toEqual([again.member.pubkey]);
  }, 60_000);
});
