// HTTP regressions found by fuzzing the broker's routes (docs/protocol.md §6).
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { dbDigest } from "../helpers/db-digest.ts";
import { refusalCode, send, signedHeaders } from "../helpers/http-fuzz.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";

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
});
