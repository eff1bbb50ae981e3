// An `{inviteId}` path segment that is not an `Id` (docs/protocol.md §1, §6.1, §6.4, §6.7) is bad
// input, not an unknown invite: 400 `invalid_argument` with a message saying what an invite id
// looks like, before any other check, and nothing in the database changes (no signature recorded
// against replay, no use of the invite). A well-formed id that names no invite stays a 404. `join`
// never sends one: it refuses such a link before contacting anybody, with a next step about the
// link (not the command's --help, which cannot repair a link).
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { createInvite, createTestMesh } from "../helpers/mesh.ts";
import { dbDigest } from "../helpers/db-digest.ts";
import { cli, identities } from "../helpers/cli.ts";
import { inviteCanonical, inviteClaimCanonical } from "../../src/protocol/canonical.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { encodeInvite } from "../../src/client/invite-link.ts";
import { encodeInviteSecret, newInviteSecret } from "../../src/crypto/invite-secret.ts";

const SHAPE = "an invite id is 8–64 characters of A-Z a-z 0-9 _ -";

/** Segments that are no `Id`: too short, too long, a character outside the set, non-ASCII (fetch
 *  percent-encodes it), and percent-encoding that does not decode. */
const MALFORMED = ["inv_1", "x".repeat(65), "inv.T3stVect0r", "inv_✓_vector", "inv_%zz_vector"];

/** A claim of `segment` whose body is correct in every other way: signed by the invite key and a
 *  fresh joiner key over the §3.5 string with that very segment, timestamped now. */
async function claim(b: TestBroker, segment: string, meshId: string, inviteKeys: SigningKeypair) {
  const joiner = generateSigningKeypair();
  const timestamp = Date.now();
  const canonical = inviteClaimCanonical(segment, joiner.publicKey, timestamp);
  const body = { meshId, pubkey: joiner.publicKey, displayName: "bob", timestamp, inviteSignature: signDetached(canonical, inviteKeys.secretKey), signature: signDetached(canonical, joiner.secretKey) };
  const res = await fetch(`${b.url}/v1/invites/${segment}/claim`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const error = ((await res.json()) as { error?: { code: string; message: string } }).error;
  return { status: res.status, code: error?.code, message: error?.message };
}

describe("malformed invite ids in a path", () => {
  test("POST /v1/invites/{inviteId}/claim: 400 invalid_argument naming the shape, and the database unchanged", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const inv = await createInvite(b.url, owner);
    const before = dbDigest(b);
    for (const segment of MALFORMED) {
      expect({ segment, ...(await claim(b, segment, inv.meshId, inv.inviteKeys)) }).toEqual({
        segment,
        status: 400,
        code: "invalid_argument",
        message: `The path does not name an invite id: ${SHAPE} (the \`invite\` field of the invite link). Check the URL, or copy the invite link again.`,
      });
    }
    // The replay table included: no signature was recorded, no use taken, nobody enrolled.
    expect(dbDigest(b)).toBe(before);
    // A well-formed id that names no invite is still unknown, and the real one still works.
    expect(await claim(b, randomId(), inv.meshId, inv.inviteKeys)).toMatchObject({ status: 404, code: "invite_not_found" });
    expect(await claim(b, inv.inviteId, inv.meshId, inv.inviteKeys)).toEqual({ status: 201, code: undefined, message: undefined });
  });

  test("POST /v1/dashboard/invites/{inviteId}/revoke: the same answer, before any credential is looked at", async () => {
    await using b = await startBroker();
    const before = dbDigest(b);
    for (const segment of MALFORMED) {
      const res = await fetch(`${b.url}/v1/dashboard/invites/${segment}/revoke`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect({ segment, status: res.status, body: await res.json() }).toEqual({
        segment,
        status: 400,
        body: { error: { code: "invalid_argument", message: expect.stringContaining(SHAPE), retryable: false } },
      });
    }
    expect(dbDigest(b)).toBe(before);
  });

  test("claudemesh join refuses a link whose invite id is malformed without contacting the broker (exit 2)", async () => {
    await using ids = identities(1);
    const [bob] = ids.dirs as [string];
    let requests = 0;
    await using sentinel = Bun.serve({ port: 0, fetch: () => (requests++, new Response("{}", { status: 500 })) });
    const issuer = generateSigningKeypair();
    const [meshId, invite, exp] = [randomId(), "inv.bad", Math.floor(Date.now() / 1000) + 3600];
    // Signed by the issuer it names, so only the id's shape is wrong.
    const sig = signDetached(inviteCanonical(meshId, invite, exp, "member", issuer.publicKey), issuer.secretKey);
    const link = encodeInvite({ v: 2, broker: sentinel.url.origin, mesh: meshId, slug: "team", name: "Team", invite, exp, role: "member", issuer: issuer.publicKey, sig, s: encodeInviteSecret(newInviteSecret()) });
    const r = await cli(bob, ["join", link, "--name", "bob"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: "claudemesh: The invite link is damaged (field invite). Ask for a new one.\n  fix: copy the whole link again (one line, starting ic://join/), or ask the inviter for a new one (claudemesh invite)\n" });
    expect(requests).toBe(0);
  }, 30_000);
});
