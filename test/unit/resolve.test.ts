// Target resolution: names, key prefixes, member-vs-session preference, ambiguity with candidates.
import { describe, expect, test } from "bun:test";
import { namesPeer, resolveTarget, splitMeshPrefix } from "../../src/client/resolve.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";

const peer = (displayName: string, pubkey: string, kind: "member" | "session" = "member"): PeerInfo => ({
  pubkey, kind, memberId: `m-${displayName}`, memberPubkey: pubkey, displayName, online: true, status: "idle", summary: "", cwd: "/x", hostname: "h", connectedAt: 1, lastSeenAt: 1, groups: [],
});
const alice = peer("alice", "a1".repeat(32));
const aliceApi = peer("alice/api", "a2".repeat(32), "session");
const bob1 = peer("bob", "b1".repeat(32));
const bob2 = peer("bob", "b2".repeat(32));
const peers = [alice, aliceApi, bob1, bob2];

describe("namesPeer", () => {
  test("only a name or key prefix needs the peer list; *, #… and @… (even malformed) do not", () => {
    const inputs = ["*", " #general ", "@backend", "#Bad|topic", "@", "alice", "*alice", "a1a1a1"];
    expect(inputs.map((i) => [i, namesPeer(i)])).toEqual([
      ["*", false],
      [" #general ", false],
      ["@backend", false],
      ["#Bad|topic", false],
      ["@", false],
      ["alice", true],
      ["*alice", true],
      ["a1a1a1", true],
    ]);
    // The malformed ones are refused without a peer list, not passed through.
    expect(() => resolveTarget("#Bad|topic", [])).toThrow("is not a valid topic or group name");
  });
});

describe("resolveTarget", () => {
  test.each([
    ["*", "*"],
    ["#general", "#general"],
    ["@backend", "@backend"],
    ["alice", alice.pubkey],
    ["Alice", alice.pubkey],
    ["alice/api", aliceApi.pubkey],
    ["a2a2a2", aliceApi.pubkey],
    ["b1b1b1b1", bob1.pubkey],
    [alice.pubkey, alice.pubkey],
  ])("%s → target", (input, target) => {
    expect(resolveTarget(input, peers).target).toBe(target);
  });

  test("an ambiguous name is refused with every candidate listed", () => {
    let err: any;
    try {
      resolveTarget("bob", peers);
    } catch (e) {
      err = e;
    }
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("b1b1b1b1b1b1");
    expect(err.message).toContain("b2b2b2b2b2b2");
  });

  test("no match and bad topic names are specific errors", () => {
    expect(() => resolveTarget("carol", peers)).toThrow('No peer matches "carol"');
    expect(() => resolveTarget("#Bad Topic", peers)).toThrow("not a valid topic or group name");
  });

  test("mesh prefix only for known slugs", () => {
    expect(splitMeshPrefix("team:alice", ["team"])).toEqual({ slug: "team", rest: "alice" });
    expect(splitMeshPrefix("other:alice", ["team"])).toEqual({ slug: null, rest: "other:alice" });
  });
});
