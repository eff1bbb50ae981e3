// The status hook POST /hook/set-status (docs/protocol.md §6.5): authenticated by the hello_ack
// token or a member's signature, never by a cwd or pid in the body; a status set by hand (dnd)
// outlives the hooks.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { signedPost } from "../../src/client/http.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

describe("status hook", () => {
  test("authenticated by the hello_ack token; an unknown token is 401; body cwd/pid are not trusted", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    const post = (token: string, body: unknown) => fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const ok = await post(bb.ack.hookToken, { status: "working" });
    expect(await ok.json()).toEqual({ ok: true, status: "working", online: true });
    const ev = await a.waitEvent((e) => e.event === "peer_status" && e.data.status === "working");
    expect(ev.data.pubkey).toBe(bob.keys.publicKey);
    const bad = await post("not-a-token", { status: "idle" });
    expect({ status: bad.status, code: (await bad.json()).error.code }).toEqual({ status: 401, code: "unauthorized" });
    const spoof = await post(bb.ack.hookToken, { status: "idle", cwd: "/elsewhere", pid: 1 });
    expect(spoof.status).toBe(400);
    a.close();
    bb.close();
  });

  test("no credential at all (no header, an empty Bearer token, another scheme) is 401, whatever the body", async () => {
    await using b = await startBroker();
    for (const headers of [{}, { authorization: "Bearer " }, { authorization: "Basic dTpw" }] as Record<string, string>[]) {
      const r = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"status":"working"}' });
      expect({ headers, status: r.status, code: (await r.json()).error.code }).toEqual({ headers, status: 401, code: "unauthorized" });
    }
  });

  test("a request signed by the member key also works; a stranger's key does not", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const a = await connect(b.url, owner);
    const bb = await connect(b.url, bob);
    expect(await signedPost(b.url, "/hook/set-status", { status: "working", meshId: bob.meshId }, bob.keys)).toEqual({ ok: true, status: "working", online: true });
    expect((await a.waitEvent((e) => e.event === "peer_status")).data.status).toBe("working");
    // A stranger's request is refused before its signature is recorded: keys nobody enrolled cost
    // the broker no write each.
    const seen = () => ((b.ctx.store as SqliteStore).db.query("SELECT count(*) AS n FROM seen_signatures").get() as { n: number }).n;
    const before = seen();
    for (let i = 0; i < 20; i++) {
      await expect(signedPost(b.url, "/hook/set-status", { status: "idle", meshId: bob.meshId }, generateSigningKeypair())).rejects.toMatchObject({ code: "unauthorized" });
    }
    expect(seen()).toBe(before);
    const bobRow = async () => (await a.client.request("list_peers", {})).peers.find((p) => p.pubkey === bob.keys.publicKey)!;
    await bobRow(); // the broker's roster of the mesh is loaded while bob is online
    const closedAt = Date.now();
    bb.close();
    await a.waitEvent((e) => e.event === "peer_left");
    const left = await bobRow();
    expect({ online: left.online, status: left.status, seenSinceClose: left.lastSeenAt! >= closedAt }).toEqual({ online: false, status: "working", seenSinceClose: true });
    // Offline: the status is stored and shown as bob's last status at once.
    expect(await signedPost(b.url, "/hook/set-status", { status: "idle", summary: "done", meshId: bob.meshId }, bob.keys)).toEqual({ ok: true, status: "idle", online: false });
    const row = await bobRow();
    expect({ online: row.online, status: row.status, summary: row.summary }).toEqual({ online: false, status: "idle", summary: "done" });
    await a.client.request("member_revoke", { memberId: bob.memberId, ban: false });
    await expect(signedPost(b.url, "/hook/set-status", { status: "working", meshId: bob.meshId }, bob.keys)).rejects.toMatchObject({ code: "unauthorized" });
    a.close();
  });

  test("dnd set by hand survives hooks", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    await a.client.request("set_status", { status: "dnd" });
    const r = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${a.ack.hookToken}`, "content-type": "application/json" }, body: JSON.stringify({ status: "idle" }) });
    expect((await r.json()).status).toBe("dnd");
    a.close();
  });

  test("while dnd is kept, the hook's summary still applies and peers hear of it", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await connect(b.url, await addMember(b.url, owner, "bob"));
    const a = await connect(b.url, owner);
    await a.client.request("set_status", { status: "dnd" });
    await bob.waitEvent((e) => e.event === "peer_status" && e.data.status === "dnd");
    const hook = (body: object) => fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${a.ack.hookToken}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(await (await hook({ status: "working", summary: "running the tests" })).json()).toEqual({ ok: true, status: "dnd", online: true });
    const heard = await bob.waitEvent((e) => e.event === "peer_status" && e.data.summary === "running the tests");
    expect(heard.data).toEqual({ pubkey: owner.keys.publicKey, displayName: "owner", status: "dnd", summary: "running the tests" });
    const listed = (await bob.client.request("list_peers", {})).peers.find((p) => p.pubkey === owner.keys.publicKey)!;
    expect({ status: listed.status, summary: listed.summary }).toEqual({ status: "dnd", summary: "running the tests" });
    a.close();
    bob.close();
  });
});

// protocol.md §6: each `json http-response` example has the fields, nested, of the answer a real
// broker gives (test/unit/protocol-examples.test.ts checks them against the types).
