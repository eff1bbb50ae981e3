// What the broker logs about authentication (docs/operations.md "Logs"): an operator review found
// nothing logged for accepted connections, mesh creation, invite claims or dashboard logins, and
// 35 wrong operator tokens left no line at all. Now: mesh created and invite claimed at info,
// connections accepted and closed at debug, a rejected hello names the mesh and key it claimed,
// dashboard logins at info, and refused ones at warn, at most one line per LOG_EVERY_MS with the
// count of those not logged. No line carries a token.
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";
import { until } from "../helpers/until.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { LOG_EVERY_MS } from "../../src/broker/throttled-log.ts";
import { signedHeaders } from "../helpers/http-fuzz.ts";

const lines = (b: TestBroker, msg: string) => b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === msg);

const operatorLogin = (b: TestBroker, token: string) => fetch(`${b.url}/v1/dashboard/operator/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });

describe("authentication in the broker's log", () => {
  test("mesh created, invite claimed, connection accepted, closed and rejected", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    expect(lines(b, "mesh created")).toEqual([expect.objectContaining({ level: "info", meshId: owner.meshId, ownerPubkey: owner.keys.publicKey, ip: "127.0.0.1" })]);
    expect(lines(b, "invite claimed")).toEqual([expect.objectContaining({ level: "info", meshId: owner.meshId, memberId: bob.memberId, pubkey: bob.keys.publicKey })]);

    // Behind a trusted proxy the line names the client it forwarded for.
    await using proxied = await startBroker({ trustedProxies: ["127.0.0.1", "::1", "::ffff:127.0.0.1"] });
    const keys = generateSigningKeypair();
    const body = JSON.stringify({ meshId: "mesh_viaproxy01", slug: "via-proxy", name: "Via a proxy", ownerPubkey: keys.publicKey, ownerDisplayName: "o" });
    const made = await fetch(`${proxied.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.7", ...signedHeaders("POST", "/v1/meshes", body, keys) }, body });
    expect(made.status).toBe(201);
    expect(lines(proxied, "mesh created")).toEqual([expect.objectContaining({ meshId: "mesh_viaproxy01", ip: "203.0.113.7" })]);

    // (The owner's own connection, which made the invite, is logged as well.)
    const bobs = (msg: string) => lines(b, msg).filter((l) => l.pubkey === bob.keys.publicKey);
    const peer = await connect(b.url, bob);
    expect(bobs("connection accepted")).toEqual([expect.objectContaining({ level: "debug", meshId: owner.meshId, memberId: bob.memberId, kind: "member", pubkey: bob.keys.publicKey, reattached: false })]);
    peer.close();
    await until(() => bobs("connection closed").length > 0, "bob's connection closed in the log");
    expect(bobs("connection closed")).toEqual([expect.objectContaining({ level: "debug", meshId: owner.meshId, pubkey: bob.keys.publicKey })]);

    // A hello signed with another key: the line names the mesh and the key it claimed to be.
    const s = await rawSocket(b.url);
    const forged = buildHello({ kind: "member", meshId: bob.meshId, memberId: bob.memberId, keys: { ...bob.keys, secretKey: generateSigningKeypair().secretKey } }, { sessionId: "s", pid: 1, cwd: "/" }, Date.now());
    s.send(forged);
    expect((await s.closed).reason).toBe("bad_signature");
    expect(lines(b, "connection rejected")).toEqual([expect.objectContaining({ level: "info", reason: "bad_signature", meshId: bob.meshId, pubkey: bob.keys.publicKey })]);
  });

  test("dashboard logins: each success at info, refusals at warn at a bounded rate, no token in the log", async () => {
    await using b = await startBroker();
    for (let i = 0; i < 5; i++) expect((await operatorLogin(b, `cmo_wrong${i}`)).status).toBe(401);
    expect(lines(b, "dashboard login refused")).toEqual([expect.objectContaining({ level: "warn", kind: "operator", reason: "unauthorized", ip: "127.0.0.1", notLoggedSinceLast: 0 })]);
    // A wrong Bearer token on an operator view counts among them.
    expect((await fetch(`${b.url}/v1/dashboard/operator/overview`, { headers: { authorization: "Bearer cmo_wrong" } })).status).toBe(401);
    const clock = b.ctx as { now: () => number };
    const realNow = clock.now;
    clock.now = () => realNow() + LOG_EVERY_MS;
    expect((await operatorLogin(b, "cmo_wrong_again")).status).toBe(401);
    expect(lines(b, "dashboard login refused").map((l) => [l.kind, l.notLoggedSinceLast])).toEqual([["operator", 0], ["operator", 5]]);

    expect((await operatorLogin(b, b.firstRunToken!)).status).toBe(200);
    expect(lines(b, "dashboard login")).toEqual([expect.objectContaining({ level: "info", kind: "operator", ip: "127.0.0.1" })]);
    expect(b.logs.join("\n")).not.toContain("cmo_");
  });
});
