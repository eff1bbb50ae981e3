// Which members the owner's client vouches for from the member list (src/client/admission.ts):
// only those whose enrolment chains to the owner through signatures the broker cannot make; and
// which keys any member encrypts a direct message to: those, and sessions they attested.
import { describe, expect, test } from "bun:test";
import { enrolledKeys, recipientDoubt, vouchedMembers } from "../../src/client/admission.ts";
import { attestationCanonical, inviteCanonical, inviteClaimCanonical, inviteKeyCanonical, inviteKeyCanonicalV1 } from "../../src/protocol/canonical.ts";
import type { AdmissionInfo, MemberInfo, PeerInfo } from "../../src/protocol/results.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";

const MESH = "mesh_admission_01";
const NOW = 1_767_225_600_000;
type Listed = MemberInfo & { admission: AdmissionInfo | null };

const listed = (name: string, kp: SigningKeypair, role: MemberInfo["role"], admission: AdmissionInfo | null, revokedAt: number | null = null): Listed => ({
  memberId: `mbr_${name}`,
  pubkey: kp.publicKey,
  displayName: name,
  role,
  joinedAt: NOW,
  revokedAt,
  revokedReason: null,
  revokedBy: null,
  banned: false,
  admission,
});

/** An invite made by `issuer` and claimed by `joiner`, as the broker stores it. */
function admitted(issuer: SigningKeypair, joiner: SigningKeypair, role: "admin" | "member", over: Partial<{ inviteId: string; expiresAt: number; claimedAt: number; inviteKey: SigningKeypair; keySigner: SigningKeypair; maxUses: number; unlimitedV1: boolean }> = {}): AdmissionInfo {
  const inviteId = over.inviteId ?? `inv_${Math.random().toString(36).slice(2, 12)}`;
  const expiresAt = over.expiresAt ?? NOW / 1000 + 3600;
  const inviteKey = over.inviteKey ?? generateSigningKeypair();
  const claimedAt = over.claimedAt ?? NOW;
  const maxUses = over.maxUses ?? 1;
  const binding = over.unlimitedV1 ? inviteKeyCanonicalV1(MESH, inviteId, inviteKey.publicKey) : inviteKeyCanonical(MESH, inviteId, inviteKey.publicKey, maxUses);
  return {
    inviteId,
    role,
    maxUses,
    expiresAt,
    issuerPubkey: issuer.publicKey,
    inviteSignature: signDetached(inviteCanonical(MESH, inviteId, expiresAt, role, issuer.publicKey), issuer.secretKey),
    invitePubkey: inviteKey.publicKey,
    keySignature: signDetached(binding, (over.keySigner ?? issuer).secretKey),
    claimedAt,
    claimSignature: signDetached(inviteClaimCanonical(inviteId, joiner.publicKey, claimedAt), inviteKey.secretKey),
  };
}

const [owner, admin, bob, carol, dave, eve, mallory, legacy] = Array.from({ length: 8 }, () => generateSigningKeypair()) as SigningKeypair[] as [SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair];

describe("vouchedMembers", () => {
  test("the owner, an admin it invited and a member that admin invited, in any list order; removed members are left out", () => {
    const members = [
      listed("carol", carol, "member", admitted(admin, carol, "member")), // listed before her issuer
      listed("owner", owner, "owner", null),
      listed("admin", admin, "admin", admitted(owner, admin, "admin")),
      listed("bob", bob, "member", admitted(owner, bob, "member")),
      listed("gone", dave, "member", admitted(owner, dave, "member"), NOW),
    ];
    const { vouched, unverified } = vouchedMembers(MESH, owner.publicKey, members);
    expect([...vouched.values()].map((m) => m.displayName).sort()).toEqual(["admin", "bob", "carol", "owner"]);
    expect(unverified).toEqual([]);
  });

  test("members the broker could have made up are not vouched for", () => {
    const brokerKey = generateSigningKeypair(); // a key pair of the broker's own
    const bobsAdmission = admitted(owner, bob, "member");
    const members = [
      listed("owner", owner, "owner", null),
      listed("bob", bob, "member", bobsAdmission),
      // no evidence at all (enrolled before invites carried it, or simply inserted)
      listed("legacy", legacy, "member", null),
      // bob's evidence attached to another key: the claim names bob's key
      listed("copy", mallory, "member", bobsAdmission),
      // a real owner invite, but the broker's own invite key (not bound by the owner)
      listed("rebound", eve, "member", admitted(owner, eve, "member", { keySigner: brokerKey })),
      // an invite "issued" by a key nobody vouches for
      listed("selfmade", dave, "member", admitted(brokerKey, dave, "member")),
      // claimed after the invite had expired
      listed("late", carol, "member", admitted(owner, carol, "member", { expiresAt: NOW / 1000 - 3600 })),
    ];
    const { vouched, unverified } = vouchedMembers(MESH, owner.publicKey, members);
    expect([...vouched.keys()]).toEqual([owner.publicKey, bob.publicKey]);
    expect(unverified.map((m) => m.displayName)).toEqual(["legacy", "copy", "rebound", "selfmade", "late"]);
  });

  test("roles must match what was signed, and only the owner's invites make admins", () => {
    const members = [
      listed("owner", owner, "owner", null),
      listed("admin", admin, "admin", admitted(owner, admin, "admin")),
      listed("promoted", bob, "admin", admitted(owner, bob, "member")), // listed as admin, invited as member
      listed("admin2", carol, "admin", admitted(admin, carol, "admin")), // an admin cannot make admins
      listed("other-mesh", dave, "member", { ...admitted(owner, dave, "member"), inviteSignature: signDetached(inviteCanonical("another_mesh", "inv_x", NOW / 1000 + 60, "member", owner.publicKey), owner.secretKey) }),
    ];
    const { vouched } = vouchedMembers(MESH, owner.publicKey, members);
    expect([...vouched.values()].map((m) => m.displayName)).toEqual(["owner", "admin"]);
  });

  test("a removed admin still vouches for members it invited while it was one", () => {
    const members = [
      listed("owner", owner, "owner", null),
      listed("admin", admin, "admin", admitted(owner, admin, "admin"), NOW),
      listed("bob", bob, "member", admitted(admin, bob, "member")),
    ];
    expect([...vouchedMembers(MESH, owner.publicKey, members).vouched.values()].map((m) => m.displayName)).toEqual(["owner", "bob"]);
  });

  test("the owner's own record of removals wins over the list: the key, its invite, and a removed admin's later invites", () => {
    const teamInvite = generateSigningKeypair();
    const sameLink = (joiner: SigningKeypair) => admitted(owner, joiner, "member", { inviteId: "inv_team_link1", inviteKey: teamInvite, maxUses: 3 });
    const members = [
      listed("owner", owner, "owner", null),
      listed("admin", admin, "admin", admitted(owner, admin, "admin")), // removed by the owner; the broker still lists it
      listed("bob", bob, "member", admitted(admin, bob, "member")), // invited by admin before its removal
      listed("carol", carol, "member", sameLink(carol)), // removed by the owner; the broker still lists her
      listed("dave", dave, "member", sameLink(dave)), // joined through the same link before
      listed("carol2", eve, "member", sameLink(eve)), // a new key from carol's link, after
      listed("late", mallory, "member", admitted(admin, mallory, "member")), // the removed admin's new invite
    ];
    const removals = { keys: [admin.publicKey, carol.publicKey], invites: ["inv_team_link1"], kept: [owner.publicKey, bob.publicKey, dave.publicKey] };
    const { vouched, unverified } = vouchedMembers(MESH, owner.publicKey, members, removals);
    expect([...vouched.values()].map((m) => m.displayName)).toEqual(["owner", "bob", "dave"]);
    expect(unverified).toEqual([]);
  });

  test("no enrolment through an invite is vouched for once more keys claimed it than the limit its issuer signed", () => {
    const link = generateSigningKeypair();
    const through = (joiner: SigningKeypair, maxUses: number) => admitted(owner, joiner, "member", { inviteId: "inv_shared_lnk", inviteKey: link, maxUses });
    const vouchedKeys = (maxUses: number, extra: Listed[] = []) => {
      const members = [listed("owner", owner, "owner", null), listed("bob", bob, "member", through(bob, maxUses)), listed("carol", carol, "member", through(carol, maxUses), NOW), ...extra];
      return [...vouchedMembers(MESH, owner.publicKey, members).vouched.keys()];
    };
    expect(vouchedKeys(2)).toEqual([owner.publicKey, bob.publicKey]); // carol's removal still used the invite
    expect(vouchedKeys(1)).toEqual([owner.publicKey]);
    // Neither a second row for the same key, nor a claim the invite key did not sign, counts as a use.
    const forged = { ...through(dave, 2), claimSignature: signDetached(inviteClaimCanonical("inv_shared_lnk", dave.publicKey, NOW), eve.secretKey) };
    expect(vouchedKeys(2, [listed("bob-again", bob, "member", through(bob, 2)), listed("dave", dave, "member", forged)])).toEqual([owner.publicKey, bob.publicKey]);
    // A limit shown other than the one signed proves nothing.
    const members = [listed("owner", owner, "owner", null), listed("bob", bob, "member", { ...through(bob, 1), maxUses: 5 })];
    expect(vouchedMembers(MESH, owner.publicKey, members).vouched.size).toBe(1);
  });

  test("member_lookup's rows with the broker's claim counts: a count past the signed limit refuses as the rows would, one below the rows shown changes nothing", () => {
    const link = generateSigningKeypair();
    const through = (joiner: SigningKeypair) => admitted(owner, joiner, "member", { inviteId: "inv_counted_01", inviteKey: link, maxUses: 2 });
    // Bob's own row and the owner's, as member_lookup lists them; carol's and dave's rows left out.
    const rows = [listed("bob", bob, "member", through(bob)), listed("owner", owner, "owner", null)];
    const doubt = (claimed: number) => recipientDoubt(MESH, owner.publicKey, bob.publicKey, rows, [], undefined, new Map([["inv_counted_01", claimed]]));
    expect(doubt(2)).toBeNull();
    expect(doubt(3)).toContain("is one of 3 members the broker shows enrolled through invite inv_counted_01, which its issuer signed for 2 uses");
    // The whole list with those three claims says the same.
    const whole = [...rows, listed("carol", carol, "member", through(carol)), listed("dave", dave, "member", through(dave))];
    expect(recipientDoubt(MESH, owner.publicKey, bob.publicKey, whole, [])).toBe(doubt(3));
    // A count below what the rows show is not believed over them.
    expect(recipientDoubt(MESH, owner.publicKey, bob.publicKey, whole, [], undefined, new Map([["inv_counted_01", 1]]))).toBe(doubt(3));
  });

  test("an invite bound before the limit was signed (§3.4b v1) counts as unlimited", () => {
    const link = generateSigningKeypair();
    const v1 = (joiner: SigningKeypair) => admitted(owner, joiner, "member", { inviteId: "inv_old_client", inviteKey: link, maxUses: 1, unlimitedV1: true });
    const members = [listed("owner", owner, "owner", null), listed("bob", bob, "member", v1(bob)), listed("carol", carol, "member", v1(carol))];
    expect([...vouchedMembers(MESH, owner.publicKey, members).vouched.values()].map((m) => m.displayName)).toEqual(["owner", "bob", "carol"]);
  });
});

/** A session of `member` as list_peers shows it; `signer` signs its attestation (the member by default). */
function session(name: string, key: SigningKeypair, member: SigningKeypair, over: Partial<{ signer: SigningKeypair; attestedKey: string; expiresAt: number; none: boolean }> = {}): PeerInfo {
  const expiresAt = over.expiresAt ?? NOW + 3_600_000;
  const sessionPubkey = over.attestedKey ?? key.publicKey;
  const attestation = over.none ? null : { sessionPubkey, parentMemberPubkey: member.publicKey, expiresAt, signature: signDetached(attestationCanonical(member.publicKey, sessionPubkey, expiresAt), (over.signer ?? member).secretKey) };
  return { pubkey: key.publicKey, kind: "session", memberId: `mbr_${name}`, memberPubkey: member.publicKey, displayName: `${name}/api`, online: true, status: "idle", summary: "", cwd: "/x", hostname: "h", connectedAt: NOW, lastSeenAt: NOW, groups: [], attestation };
}

describe("enrolledKeys: whom a direct message may come from", () => {
  test("the keys enrolment traces to the owner, removed by the broker's list or not; not the owner's own removals, nor keys no signature backs", () => {
    const brokerKey = generateSigningKeypair();
    const members = [
      listed("owner", owner, "owner", null),
      listed("admin", admin, "admin", admitted(owner, admin, "admin")),
      listed("carol", carol, "member", admitted(admin, carol, "member")),
      listed("gone", dave, "member", admitted(owner, dave, "member"), NOW), // what it sent before its removal is its own
      listed("kicked", eve, "member", admitted(owner, eve, "member"), NOW), // removed in the owner's own record
      listed("legacy", legacy, "member", null), // enrolled before brokers kept evidence
      listed("alice", brokerKey, "member", null), // a key of the broker's own, under a member's name
    ];
    const keys = enrolledKeys(MESH, owner.publicKey, members, { keys: [eve.publicKey], invites: [], kept: [] });
    expect([...keys].sort()).toEqual([owner, admin, carol, dave].map((k) => k.publicKey).sort());
  });
});

describe("recipientDoubt: what a direct message may be encrypted to", () => {
  const link = generateSigningKeypair();
  const twice = (joiner: SigningKeypair) => admitted(owner, joiner, "member", { inviteId: "inv_used_twice", inviteKey: link });
  const members = [listed("owner", owner, "owner", null), listed("bob", bob, "member", admitted(owner, bob, "member")), listed("mallory", mallory, "member", null), listed("dave", dave, "member", twice(dave)), listed("eve", eve, "member", twice(eve))];
  const doubt = (key: string, peers: PeerInfo[] = []) => recipientDoubt(MESH, owner.publicKey, key, members, peers);

  test("the owner, a vouched member, and sessions they attested (an expired attestation still binds the key)", () => {
    const [s1, s2] = [generateSigningKeypair(), generateSigningKeypair()];
    expect(doubt(owner.publicKey)).toBeNull();
    expect(recipientDoubt(MESH, owner.publicKey, owner.publicKey, [], [])).toBeNull(); // even when the broker leaves the owner out
    expect(doubt(bob.publicKey)).toBeNull();
    expect(doubt(s1.publicKey, [session("bob", s1, bob)])).toBeNull();
    expect(doubt(s2.publicKey, [session("owner", s2, owner, { expiresAt: NOW - 86_400_000 })])).toBeNull();
  });

  test("a key the broker could have listed itself is refused, with the reason", () => {
    const s = generateSigningKeypair();
    expect(doubt(mallory.publicKey)).toContain('enrolment of "mallory"');
    expect(doubt(dave.publicKey)).toContain("is one of 2 members the broker shows enrolled through invite inv_used_twice, which its issuer signed for 1 use:");
    expect(doubt(carol.publicKey)).toContain("is not a member or session of this mesh");
    expect(doubt(s.publicKey, [session("bob", s, bob, { none: true })])).toContain("has no attestation");
    // Signed by another key than the member it names; or naming another session key.
    expect(doubt(s.publicKey, [session("bob", s, bob, { signer: eve })])).toContain("does not verify");
    expect(doubt(s.publicKey, [session("bob", s, bob, { attestedKey: dave.publicKey })])).toContain("does not verify");
    // Attested, by a member nothing vouches for.
    expect(doubt(s.publicKey, [session("mallory", s, mallory)])).toContain("attested by a member whose enrolment cannot be checked");
    // A session entry for a member key does not make it a session.
    expect(doubt(mallory.publicKey, [session("mallory", mallory, bob)])).toContain('enrolment of "mallory"');
  });
});
