// HTTP regressions found by fuzzing the broker's routes (docs/protocol.md §6).
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh } from "../helpers/mesh.ts";
import { dbDigest } from "../helpers/db-digest.ts";
import { httpBodyExamples, refusalCode, send, signedHeaders } from "../helpers/http-fuzz.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";

const EX = httpBodyExamples();
/** Throttled routes count per client address; each request comes "from" its own, through a proxy
 *  the broker trusts, so that the throttles do not turn the whole run into 429s. */
const LOOPBACK = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];

/** A broker with a mesh, its owner connected (for a hook token), an invite with many uses, and a
 *  member and an operator dashboard session. Each lives well under a minute: the sweep (every
 *  30 s) deletes replay records over 61 s old, which would read as a write. */
async function world() {
  const b = await startBroker({ trustedProxies: LOOPBACK });
  const { owner } = await createTestMesh(b.url, "alice");
  const peer = await connect(b.url, owner);
  const invite = await createInvite(b.url, owner, { maxUses: 10_000 });
  const revocable = await createInvite(b.url, owner);
  const cookieOf = async (path: string, body: unknown) => (await fetch(`${b.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).headers.get("set-cookie")!.split(";")[0]!;
  const login = dashboardLink({ brokerUrl: b.url, meshId: owner.meshId, memberId: owner.memberId, secretKey: owner.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;
  const memberCookie = await cookieOf("/v1/dashboard/login", login);
  const operatorCookie = await cookieOf("/v1/dashboard/operator/login", { token: b.firstRunToken });
  return {
    b, owner, peer, invite, revocable, memberCookie, operatorCookie,
    async [Symbol.asyncDispose]() {
      peer.close();
      await b[Symbol.asyncDispose]();
    },
  };
}
type World = Awaited<ReturnType<typeof world>>;

/** A request as `signer` signs it, and its answer's status and code. */
async function signedPost(url: string, path: string, body: unknown, signer: SigningKeypair) {
  const text = JSON.stringify(body);
  const a = await send(`${url}${path}`, "POST", text, { "content-type": "application/json", ...signedHeaders("POST", path, text, signer) });
  return { status: a.status, code: refusalCode(a) };
}

describe("regressions found by the fuzzing", () => {
  test("a mesh creation refused for its signer or its reserved id records nothing, not even its signature", async () => {
    await using b = await startBroker();
    const owner = generateSigningKeypair();
    const body = { meshId: randomId(), slug: "regression", name: "R", ownerPubkey: owner.publicKey, ownerDisplayName: "o" };
    const before = dbDigest(b);
    expect(await signedPost(b.url, "/v1/meshes", body, generateSigningKeypair())).toEqual({ status: 401, code: "unauthorized" });
    expect(await signedPost(b.url, "/v1/meshes", { ...body, meshId: "claudemesh-0001" }, owner)).toEqual({ status: 400, code: "invalid_argument" });
    expect(dbDigest(b)).toBe(before);
  });

  test("a string field given an object with its own toString is a 400 naming it, never a 500, on every route", async () => {
    await using w = await world();
    const post = async (path: string, body: string) => {
      const a = await send(`${w.b.url}${path}`, "POST", body, { "content-type": "application/json", cookie: w.memberCookie });
      return { status: a.status, code: refusalCode(a), message: (JSON.parse(a.text) as { error: { message: string } }).error.message };
    };
    const refused = (field: string) => ({ status: 400, code: "invalid_argument" as const, message: `Invalid request: ${field}: unexpected property` });
    const before = dbDigest(w.b);
    expect(await post("/v1/meshes", JSON.stringify({ ...EX.CreateMeshBody, meshId: { toString: 1 } }))).toEqual(refused("/meshId/toString"));
    expect(await post("/v1/dashboard/login", '{"meshId":{"to\\u0053tring":[]}}')).toEqual(refused("/meshId/toString"));
    expect(await post("/hook/set-status", '{"status":"idle","summary":{"toString":null}}')).toEqual(refused("/summary/toString"));
    expect(await post("/v1/dashboard/logout", '[{"a":{"toString":"x"}}]')).toEqual(refused("/0/a/toString"));
    expect(w.b.logs.filter((l) => l.includes("http request failed"))).toEqual([]);
    expect(dbDigest(w.b)).toBe(before);
  });
});
