// Scenario 7: the error behaviour docs/protocol.md promises: handshake rejections with their
// close code and reason (§2.2–§2.5), framing errors in the ready state with the request id echoed
// (§4.1), HTTP errors (§2.1, §6.1–§6.4), hooks (§6.5), and removal close codes (§4.3.20, §7.2).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { freshTs, helloCanonical, newKey, requestCanonical, sha256hex, sign } from "./wire.ts";
import { Conn, connect, createMesh, handshake, helloFrame, postJson, signedRequest, type Frame } from "./transport.ts";
import { closeAll, meshWith, newMesh } from "./fixture.ts";

/** Sends `first` as the first frame; expects an error frame without id, then close 1008 with the code as reason. */
async function rejected(base: string, first: Frame | string | Uint8Array) {
  const conn = await Conn.open(base);
  if (typeof first === "string" || first instanceof Uint8Array) conn.sendRaw(first);
  else conn.sendFrame(first);
  const err = await conn.take((f) => f.type === "error", 5000, "handshake error");
  const closed = await conn.closed;
  expect(err.id).toBeUndefined();
  expect(typeof err.message).toBe("string");
  expect(typeof err.retryable).toBe("boolean");
  expect(closed).toEqual({ code: 1008, reason: err.code });
  return err;
}

test("7a. member hello rejections: codes, order, close 1008 with the code as reason", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const alice = mesh.owner;
  const skewed = Date.now() - 95_000;

  const skew = await rejected(b.url, helloFrame(alice, { timestamp: skewed, signature: sign(helloCanonical(alice.meshId, alice.memberId, alice.key.pub, skewed), alice.key) }));
  expect(skew).toMatchObject({ code: "timestamp_skew", retryable: false });
  // order: a stale hello with a bad signature is timestamp_skew; a newer protocolVersion comes first of all
  expect((await rejected(b.url, helloFrame(alice, { timestamp: skewed, signature: "00".repeat(64) }))).code).toBe("timestamp_skew");
  expect((await rejected(b.url, helloFrame(alice, { timestamp: skewed, protocolVersion: 2 }))).code).toBe("unsupported_version");
  // shapes, then signature, then membership
  expect((await rejected(b.url, helloFrame(alice, { pubkey: alice.key.pub.toUpperCase() }))).code).toBe("malformed");
  expect((await rejected(b.url, helloFrame(alice, { signature: "ab" }))).code).toBe("malformed");
  expect((await rejected(b.url, helloFrame(alice, { signature: sign("something else", alice.key) }))).code).toBe("bad_signature");
  const stranger = newKey();
  expect((await rejected(b.url, helloFrame({ ...alice, key: stranger }))).code).toBe("unauthorized");
  expect((await rejected(b.url, helloFrame({ ...alice, meshId: "mesh_unknown01" }))).code).toBe("unauthorized");
  // replay: the same signed hello twice (§2.5)
  const once = helloFrame(alice);
  const first = await connect(b.url, once);
  expect((await rejected(b.url, once)).code).toBe("replayed");
  await first.conn.close();
});

test("7b. first-frame failures: no_hello, framing codes and schema violations end the connection", async () => {
  await using b = await startBroker({ helloTimeout: 300 } as never);
  const mesh = await newMesh(b.url);
  expect((await rejected(b.url, { type: "list_peers", id: "1" })).code).toBe("no_hello");
  expect((await rejected(b.url, "{not json")).code).toBe("invalid_json");
  expect((await rejected(b.url, '{"type":"launch_rockets"}')).code).toBe("unknown_type");
  expect((await rejected(b.url, helloFrame(mesh.owner, { extra: true }))).code).toBe("malformed");
  expect((await rejected(b.url, "[".repeat(40) + "]".repeat(40))).code).toBe("too_deep");
  expect((await rejected(b.url, new Uint8Array([1, 2, 3]))).code).toBe("malformed");
  // no hello at all: hello_timeout (helloTimeout set to 300 ms for this broker)
  const idle = await Conn.open(b.url);
  const err = await idle.take((f) => f.type === "error", 5000);
  expect(err).toMatchObject({ code: "hello_timeout", retryable: true });
  expect(await idle.closed).toEqual({ code: 1008, reason: "hello_timeout" });
});

test("7c. ready-state framing errors keep the connection open and echo the request id", async () => {
  await using b = await startBroker();
  const mesh = await newMesh(b.url);
  const { conn } = await connect(b.url, helloFrame(mesh.owner));

  conn.sendRaw('{"type":"list_peers","id":"7","extra":1}');
  const e1 = await conn.take((f) => f.type === "error" && f.id === "7");
  expect(e1).toMatchObject({ code: "invalid_frame", retryable: false });
  expect(e1.message).toContain("/extra");

  conn.sendRaw('{"type":"teleport","id":8}');
  expect(await conn.take((f) => f.type === "error" && f.id === 8)).toMatchObject({ code: "unknown_type" });

  // step 4 of §4.1: not an object → invalid_frame; an object without a known type → unknown_type
  conn.sendRaw("[1,2]");
  expect(await conn.take((f) => f.type === "error" && f.code === "invalid_frame" && f.id === undefined)).toBeTruthy();
  conn.sendRaw('{"id":"11"}');
  expect(await conn.take((f) => f.type === "error" && f.id === "11")).toMatchObject({ code: "unknown_type" });
  // an id that is not a RequestId is not echoed
  conn.sendRaw(`{"type":"nope","id":"${"i".repeat(65)}"}`);
  const e0 = await conn.take((f) => f.type === "error" && f.code === "unknown_type");
  expect(e0.id).toBeUndefined();

  conn.sendRaw('{"type":"list_peers",');
  const e3 = await conn.take((f) => f.type === "error" && f.code === "invalid_json");
  expect(e3.id).toBeUndefined();

  conn.sendRaw(`{"type":"list_peers","id":"9","x":${"[".repeat(40)}${"]".repeat(40)}}`);
  const e4 = await conn.take((f) => f.type === "error" && f.code === "too_deep");
  expect(e4.id).toBeUndefined(); // too deep: the id is not recovered

  conn.sendRaw(JSON.stringify({ type: "set_summary", id: "10", summary: "x".repeat(70_000) }));
  const e5 = await conn.take((f) => f.type === "error" && f.code === "frame_too_large");
  expect(e5.id).toBeUndefined();

  conn.sendRaw(new Uint8Array([0x7b, 0x7d]));
  const e6 = await conn.take((f) => f.type === "error" && f.code === "invalid_frame");
  expect(e6.id).toBeUndefined();

  // a second hello (which has no id field, §4.3.1) on a ready socket: already_hello, stays open
  conn.sendFrame(helloFrame(mesh.owner));
  const e7 = await conn.take((f) => f.type === "error" && f.code === "already_hello");
  expect(e7).toMatchObject({ retryable: false });
  expect(e7.id).toBeUndefined();
  // bounds are part of the schema: summary > 512 characters
  expect(await conn.call({ type: "set_summary", summary: "y".repeat(513) })).toMatchObject({ type: "error", code: "invalid_frame" });

  // still open and usable
  expect(conn.closeInfo).toBeNull();
  expect((await conn.ok({ type: "set_summary", summary: "still here" })).summary).toBe("still here");
  await conn.close();
});

test("7d. HTTP errors: upgrade, signed requests, create-mesh body rules", async () => {
  await using b = await startBroker();
  const notUpgrade = await fetch(b.url + "/ws");
  expect(notUpgrade.status).toBe(426);
  expect((await notUpgrade.json()).error).toMatchObject({ code: "invalid_argument" });
  // A web page's socket (browsers always send Origin) is refused before it takes a slot.
  const fromPage = await fetch(b.url + "/ws", { headers: { Origin: "https://any-site.example", Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" } });
  expect([fromPage.status, (await fromPage.json()).error.code]).toEqual([403, "forbidden"]);
  const opened = await new Promise<boolean>((resolve) => {
    const ws = new WebSocket(b.url.replace("http", "ws") + "/ws", { headers: { Origin: b.url } } as unknown as string[]);
    ws.onopen = () => (ws.close(), resolve(true));
    ws.onerror = () => resolve(false);
  });
  expect(opened).toBe(false);
  expect(await (await fetch(b.url + "/metrics")).text()).toContain('broker_connections_rejected_total{reason="forbidden"} 2');

  const owner = newKey();
  const body = (o: Record<string, unknown> = {}) => JSON.stringify({ meshId: "mesh_http_0001", slug: "http-errors", name: "HTTP", ownerPubkey: owner.pub, ownerDisplayName: "alice", ...o });
  const code = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];

  expect(code(await postJson(b.url, "/v1/meshes", body()))).toEqual([401, "unauthorized"]);
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", body(), owner, { signature: sign("nope", owner) }))).toEqual([401, "bad_signature"]);
  const old = Date.now() - 120_000;
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", body(), owner, { timestamp: old }))).toEqual([401, "timestamp_skew"]);
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", body(), owner, { signature: "xyz" }))).toEqual([400, "malformed"]);
  const res = await fetch(b.url + "/v1/meshes", { method: "POST", headers: { "content-type": "application/json", "x-claudemesh-pubkey": owner.pub, "x-claudemesh-timestamp": "12a", "x-claudemesh-signature": "00".repeat(64) }, body: body() });
  expect(res.status).toBe(400);
  expect((await res.json()).error.code).toBe("malformed");
  // signed by a key other than ownerPubkey
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", body(), newKey()))).toEqual([401, "unauthorized"]);
  // reserved mesh id prefix (checked after the signature)
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", body({ meshId: "claudemesh_x1" }), owner))).toEqual([400, "invalid_argument"]);
  // schema and JSON come before the signature: an unsigned bad body is 400, not 401
  expect(code(await postJson(b.url, "/v1/meshes", body({ extra: 1 })))).toEqual([400, "invalid_argument"]);
  expect(code(await postJson(b.url, "/v1/meshes", "{oops"))).toEqual([400, "invalid_json"]);
  expect(code(await postJson(b.url, "/v1/nothing-here", "{}"))).toEqual([404, "not_found"]);
  // the same signed request twice: the second is a replay (§2.5)
  const ts = freshTs(owner.pub);
  const text = body();
  const sig = sign(requestCanonical("POST", "/v1/meshes", ts, sha256hex(text)), owner);
  expect((await signedRequest(b.url, "POST", "/v1/meshes", text, owner, { timestamp: ts, signature: sig })).status).toBe(201);
  expect(code(await signedRequest(b.url, "POST", "/v1/meshes", text, owner, { timestamp: ts, signature: sig }))).toEqual([401, "replayed"]);
  // a fresh signature for an existing mesh id
  expect(code(await createMesh(b.url, owner, { meshId: "mesh_http_0001", slug: "http-other", name: "x", ownerDisplayName: "x" }))).toEqual([409, "conflict"]);
});

test("7e. hooks: POST /hook/set-status with the hook token or a signed request (§6.5)", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, ownerAck, others } = await meshWith(b.url, ["bob"]);
  const { member: bob, conn: bobConn } = others[0]!;
  const r = await postJson(b.url, "/hook/set-status", { status: "working", summary: "running the tests" }, { authorization: `Bearer ${ownerAck.hookToken}` });
  expect(r).toEqual({ status: 200, body: { ok: true, status: "working", online: true } });
  const ev = await bobConn.event("peer_status", (d) => d.pubkey === alice.key.pub);
  expect(ev.data).toEqual({ pubkey: alice.key.pub, displayName: "alice", status: "working", summary: "running the tests" });
  expect((await postJson(b.url, "/hook/set-status", { status: "idle" }, { authorization: "Bearer not-a-token" })).status).toBe(401);

  // a manual dnd is sticky against automatic changes (§5.7)
  expect(await bobConn.ok({ type: "set_status", status: "dnd" })).toEqual({ status: "dnd", released: 0 });
  const signed = await signedRequest(b.url, "POST", "/hook/set-status", JSON.stringify({ status: "idle", meshId: mesh.meshId }), bob.key);
  expect(signed).toEqual({ status: 200, body: { ok: true, status: "dnd", online: true } });
  const noMesh = await signedRequest(b.url, "POST", "/hook/set-status", JSON.stringify({ status: "idle" }), bob.key);
  expect([noMesh.status, noMesh.body.error.code]).toEqual([400, "invalid_argument"]);
  await closeAll(aliceConn, bobConn);
});

test("7f. removal: kicked member's connection closes 4001, its hello is then revoked; leave closes 4003", async () => {
  await using b = await startBroker();
  const { owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob", "carol"]);
  const [bob, carol] = others as [(typeof others)[0], (typeof others)[0]];

  expect(await bob.conn.call({ type: "member_revoke", memberId: carol.member.memberId, ban: false })).toMatchObject({ type: "error", code: "forbidden" });
  const r = await aliceConn.ok({ type: "member_revoke", memberId: bob.member.memberId, ban: false, reason: "left the team" });
  expect(r).toEqual({ memberId: bob.member.memberId, banned: false, disconnected: 1, invitesRevoked: [] }); // its invite was used up
  expect(await bob.conn.closed).toEqual({ code: 4001, reason: "kicked" });
  const ev = await carol.conn.event("member_revoked");
  expect(ev.data).toEqual({ memberId: bob.member.memberId, reason: "kicked", by: alice.memberId });
  const { reply, conn } = await handshake(b.url, helloFrame(bob.member));
  expect(reply).toMatchObject({ type: "error", code: "revoked" });
  expect(await conn.closed).toEqual({ code: 1008, reason: "revoked" });
  expect(await aliceConn.call({ type: "member_revoke", memberId: bob.member.memberId, ban: true })).toMatchObject({ type: "error", code: "conflict" });

  // key rotation is recorded and announced; the epoch must increase (§4.3.25)
  expect(await aliceConn.ok({ type: "key_rotate", epoch: 1, reason: "bob left" })).toEqual({ epoch: 1 });
  expect((await carol.conn.event("key_rotated")).data).toEqual({ epoch: 1, by: alice.memberId });
  expect(await aliceConn.call({ type: "key_rotate", epoch: 1 })).toMatchObject({ type: "error", code: "conflict" });
  const again = await connect(b.url, helloFrame(carol.member));
  expect(again.ack.mesh.keyEpoch).toBe(1);
  await again.conn.close();

  expect(await aliceConn.call({ type: "leave" })).toMatchObject({ type: "error", code: "forbidden" });
  expect(await carol.conn.ok({ type: "leave" })).toEqual({ left: true });
  expect(await carol.conn.closed).toEqual({ code: 4003, reason: "left" });
  expect((await aliceConn.event("member_revoked", (d) => d.memberId === carol.member.memberId)).data.reason).toBe("left");
  await closeAll(aliceConn);
});
