// The check every answer of a broker passes before a client reads it (src/protocol/result-schemas.ts):
// an older broker's answer without the fields added within version 1 is taken and completed with
// what their absence means; anything else of another shape is said in words that name the field
// and never echo the broker's text. The documented examples pass (protocol-examples.test.ts); the
// CLI and MCP server against a lying broker: test/integration/malformed-answers.test.ts.
import { describe, expect, test } from "bun:test";
import { resultFault } from "../../src/protocol/result-schemas.ts";

const KEY = "ab".repeat(32);
const SIG = "cd".repeat(64);
const peer = { pubkey: KEY, kind: "member", memberId: "mbr_alice_01", memberPubkey: KEY, displayName: "alice", online: true, status: "idle", summary: "", cwd: "", hostname: "", connectedAt: null, lastSeenAt: null, groups: [], attestation: null };
const member = { memberId: "mbr_alice_01", pubkey: KEY, displayName: "alice", role: "owner", joinedAt: 1, revokedAt: null, revokedReason: null, revokedBy: null, banned: false, admission: null };
const without = <T extends object>(o: T, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

describe("an older broker's answers, without the fields added since", () => {
  test("peers without attestation, members without revokedBy and admission, a send without undeliverable, a removal without invitesRevoked: taken, and completed", () => {
    const peers = { peers: [without(peer, "attestation")] };
    const members = { members: [without(member, "revokedBy", "admission")] };
    const sent: Record<string, unknown> = { messageId: "msg_0000001", duplicate: false, createdAt: 5 };
    const removed: Record<string, unknown> = { memberId: "mbr_alice_01", banned: false, disconnected: 0 };
    expect([resultFault("list_peers", peers), resultFault("member_list", members), resultFault("send", sent), resultFault("member_revoke", removed)]).toEqual([null, null, null, null]);
    expect({ peers, members, sent, removed }).toEqual({ peers: { peers: [peer] }, members: { members: [member] }, sent: { ...sent, undeliverable: [] }, removed: { ...removed, invitesRevoked: [] } });
  });

  test("an invite list without next (a broker from before pages lists every invite at once): taken as the whole list", () => {
    const invite = { inviteId: "inv_00000001", role: "member", maxUses: 1, usedCount: 0, expiresAt: 2e9, createdAt: 1, createdBy: "mbr_alice_01", revokedAt: null };
    const listed: Record<string, unknown> = { invites: Array(501).fill(invite) };
    expect(resultFault("invite_list", listed)).toBeNull();
    expect(listed.next).toBeNull();
    expect(resultFault("invite_list", { invites: [], next: "x" })).toBe("/next should be identifier (A-Z a-z 0-9 _ -), or null, not a string of 1 character");
  });

  test("such a field present with the wrong type is refused all the same", () => {
    expect(resultFault("member_list", { members: [{ ...member, admission: "none" }] })).toBe("/members/0/admission should be an admission record, or null, not a string of 4 characters");
  });
});

describe("what is wrong, in words", () => {
  const cases: [Parameters<typeof resultFault>[0], unknown, string][] = [
    ["list_peers", null, "the answer should be an object, not null"],
    ["list_peers", { peers: {} }, "/peers should be a list, not an object"],
    ["list_peers", { peers: [peer, 7] }, "/peers/1 should be an object, not 7"],
    ["list_peers", { peers: [{ ...peer, pubkey: KEY.toUpperCase() }] }, "/peers/0/pubkey should be 32-byte key, lowercase hex, not a string of 64 characters"],
    ["list_peers", { peers: [{ ...peer, kind: "robot" }] }, "/peers/0/kind should be member or session, not a string of 5 characters"],
    ["list_peers", { peers: [{ ...peer, attestation: { sessionPubkey: KEY, parentMemberPubkey: KEY, expiresAt: 1, signature: "x" } }] }, "/peers/0/attestation/signature should be 64-byte ed25519 signature, lowercase hex, not a string of 1 character"],
    // A peer may be a session the broker named `<member name>/<last cwd segment>`; a member's name is one chosen.
    ["list_peers", { peers: [{ ...peer, displayName: "a".repeat(1090) }] }, "/peers/0/displayName should be a string of at most 1089 characters, not a string of 1090 characters"],
    ["member_list", { members: [{ ...member, displayName: "a".repeat(65) }] }, "/members/0/displayName should be a string of at most 64 characters, not a string of 65 characters"],
    ["peer_lookup", { peers: Array(101).fill(peer), complete: true, nameRule: 1 }, "/peers should be a list of at most 100 items, not a list of 101 items"],
    ["member_lookup", { members: [member], claims: [{ inviteId: "inv_00000001", claimed: 1.5 }] }, "/claims/0/claimed should be a whole number, 0 or more, not 1.5"],
    ["invite_list", { invites: [{ inviteId: "inv_00000001", role: "member", maxUses: 1, usedCount: 0, expiresAt: 9e12, createdAt: 1, createdBy: "mbr_alice_01", revokedAt: null }] }, "/invites/0/expiresAt should be seconds since the epoch, not 9000000000000"],
    ["session_end", { ended: false }, '/ended should be true, not false'],
    ["grant_list", { grants: [{ peer: KEY, caps: ["dm", "dm"] }], defaults: [] }, "/grants/0/caps should be a list without repeats, not a list of 2 items"],
  ];
  for (const [type, data, said] of cases) test(said, () => expect(resultFault(type, data)).toBe(said));

  test("a broker's text is never echoed: a string is said by its length", () => {
    const said = resultFault("list_peers", { peers: [{ ...peer, status: "\u001b]0;owned\u0007" }] })!;
    expect(said).toBe("/peers/0/status should be one of idle, working, dnd, not a string of 10 characters");
    expect(said).not.toContain("owned");
  });

  test("unknown fields are taken (a newer broker may add some, §1.2)", () => {
    expect(resultFault("list_peers", { peers: [{ ...peer, mood: "calm" }], page: 1 })).toBeNull();
  });
});
