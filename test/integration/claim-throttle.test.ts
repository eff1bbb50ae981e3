// Invite claims are throttled per client address (docs/protocol.md §6.4, operations.md
// `claimBurst`, `claimEvery`). Each claim stores a member, its #general membership and two audit
// entries for good, and grows every member_list of the mesh; before this, one address enrolled
// ~146 members a second through a many-use invite. Past the allowance a claim is 429
// `rate_limited` with Retry-After and stores nothing; a claim again by a key already enrolled (its
// answer was lost) is answered as before; another client address, here one forwarded by a trusted
// proxy, has its own allowance; `claudemesh join` says how long to wait.
import { expect, test } from "bun:test";
import { inviteClaimCanonical } from "../../src/protocol/canonical.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { claimInvite } from "../../src/client/http.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { createInvite, createTestMesh } from "../helpers/mesh.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";

type Invite = Awaited<ReturnType<typeof createInvite>>;

/** POSTs a claim of `inv` by `joiner` as claimInvite does, with `headers` added (X-Forwarded-For). */
function claim(b: TestBroker, inv: Invite, joiner: SigningKeypair, headers: Record<string, string> = {}): Promise<Response> {
  const timestamp = Date.now();
  const canonical = inviteClaimCanonical(inv.inviteId, joiner.publicKey, timestamp);
  const body = { meshId: inv.meshId, pubkey: joiner.publicKey, displayName: `m${joiner.publicKey.slice(0, 6)}`, timestamp, inviteSignature: signDetached(canonical, inv.inviteKeys.secretKey), signature: signDetached(canonical, joiner.secretKey) };
  return fetch(`${b.url}/v1/invites/${inv.inviteId}/claim`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

const members = async (b: TestBroker, meshId: string) => (await b.ctx.store.listActiveMembers(meshId)).length;

test("past claimBurst, a claim is 429 rate_limited with Retry-After and stores nothing; a retry of an enrolled key, and another address, are answered", async () => {
  await using b = await startBroker({ claimBurst: 3, claimEvery: 60_000, trustedProxies: "127.0.0.1" });
  const { owner } = await createTestMesh(b.url);
  const inv = await createInvite(b.url, owner, { maxUses: 100 });
  const first = generateSigningKeypair();
  expect((await claim(b, inv, first)).status).toBe(201);
  for (let i = 0; i < 2; i++) expect((await claim(b, inv, generateSigningKeypair())).status).toBe(201);
  const refused = await claim(b, inv, generateSigningKeypair());
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
  expect((await refused.json()).error).toMatchObject({ code: "rate_limited", retryable: true });
  expect(await members(b, owner.meshId)).toBe(4); // the owner and three
  // The first key's claim again, its answer lost: answered as before, not refused.
  expect((await claim(b, inv, first)).status).toBe(200);
  // Another client, forwarded by a trusted proxy, has its own allowance.
  expect((await claim(b, inv, generateSigningKeypair(), { "x-forwarded-for": "203.0.113.7" })).status).toBe(201);
  // The log names the address, and (a loopback one) what an unlisted proxy in front would cause.
  const line = b.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "invite claims refused: too many from one address");
  expect(line).toMatchObject({ level: "warn", ip: "127.0.0.1", claimBurst: 3, claimEvery: "1m" });
});

test("by default an address may enrol 50 members at once, not more", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const inv = await createInvite(b.url, owner, { maxUses: 100 });
  const statuses = [];
  for (let i = 0; i < 51; i++) statuses.push((await claim(b, inv, generateSigningKeypair())).status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(50);
  expect(statuses.at(-1)).toBe(429);
  expect(await members(b, owner.meshId)).toBe(51);
});

test("claudemesh join, rate limited, says to wait and run the same command again (exit 7)", async () => {
  await using b = await startBroker({ claimBurst: 1, claimEvery: 120_000 });
  await using ids = identities(3);
  const [alice, bob, carol] = ids.dirs;
  await cliMesh(b.url, [[alice!, "alice"], [bob!, "bob"]]); // bob's join takes the one claim
  const { link } = ok(await cli(alice!, ["invite", "--json"])).json();
  const r = await cli(carol!, ["join", link, "--name", "carol"]);
  expect(r.code).toBe(7);
  expect(r.stderr).toContain("Too many invite claims from this address");
  expect(r.stderr).toMatch(/fix: wait (1[12]\d|120) s, then run the same command again/);
  const json = await cli(carol!, ["join", link, "--name", "carol", "--json"]);
  expect(json.code).toBe(7);
  expect(JSON.parse(json.stdout).error).toMatchObject({ code: "rate_limited", fix: expect.stringContaining("run the same command again") });
});

// claimInvite is what the CLI and the tests' helpers call: a 429 keeps its wait.
test("the client keeps the broker's Retry-After on the error", async () => {
  await using b = await startBroker({ claimBurst: 1, claimEvery: 30_000 });
  const { owner } = await createTestMesh(b.url);
  const inv = await createInvite(b.url, owner, { maxUses: 5 });
  await claimInvite(b.url, { ...inv, joiner: generateSigningKeypair(), displayName: "one" });
  const err = await claimInvite(b.url, { ...inv, joiner: generateSigningKeypair(), displayName: "two" }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "rate_limited", retryAfterMs: 30_000 });
});
