// SIGHUP puts changed limits in force without a restart (docs/operations.md "Signals and shutdown",
// the settings table's SIGHUP column): a real `serve --config FILE` on port 0, the file edited,
// SIGHUP sent, and the new limit seen on the wire, with the `SIGHUP: ` line naming each setting
// put in force with its old and new value. What was there stays: open connections past a lowered
// cap are not closed, queued messages past a lowered quota are not deleted, a message queued
// before a new messageTtl keeps its expiry. A file that cannot be used puts nothing in force.
// Session 38 (docs/decisions.md, "SIGHUP puts limits in force").
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildHello } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { addMember, connect, createInvite, createTestMesh, envelope, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { rawSocket, type RawSocket } from "../helpers/raw.ts";
import { configFile, hangup, logs, serve, summary } from "../helpers/sighup.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";

/** A config file for a broker of its own (port 0, info lines) with `settings`. */
function brokerConfig(prefix: string, settings: Record<string, unknown>) {
  const root = tempDir(prefix);
  return { root, ...configFile(join(root, "claudemesh.json"), { host: "127.0.0.1", port: 0, dataDir: join(root, "data"), logLevel: "info", ...settings }) };
}

/** The answer to a WebSocket upgrade of /ws: its status, and the error code when refused. */
async function upgrade(url: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${url}/ws`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
  return res.status === 101 ? { status: 101 } : { status: res.status, code: (await res.json()).error.code };
}

/** `m`'s connection, said hello on, with its hello_ack. */
async function helloed(url: string, m: TestMember): Promise<{ s: RawSocket; ack: any }> {
  const s = await rawSocket(url);
  s.send(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: randomId(), pid: 1, cwd: "/" }));
  return { s, ack: await s.next() };
}

/** Sends `n` messages to `to` at once and counts the answers: results and error codes. */
async function sendMany(s: RawSocket, to: string, n: number): Promise<Record<string, number>> {
  const tag = randomId(4);
  for (let i = 0; i < n; i++) s.send({ type: "send", id: `${tag}${i}`, to, clientMessageId: `${tag}-${i}-message`, ...envelope(`m${i}`) });
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const f = await s.next();
    const k = f.type === "error" ? f.code : f.type;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

describe("SIGHUP puts changed limits in force", () => {
  test("maxConnectionsPerIp: lowered, the connections open stay and a new one is refused 429 too_many_connections; raised, one more is let in; a file that cannot be used changes nothing", async () => {
    const cfg = brokerConfig("cm-hup-conns-", { maxConnectionsPerIp: 3, helloTimeout: "1m" });
    await using b = await serve(["--config", cfg.file]);
    const open = [await rawSocket(b.url), await rawSocket(b.url)];
    cfg.edit({ maxConnectionsPerIp: 2 });
    const after = await hangup(b.s);
    expect(after.find(summary)).toMatchObject({
      level: "info",
      msg: `SIGHUP: read ${cfg.file} again: applied maxConnectionsPerIp 3 → 2; no TLS certificate to reload (this broker serves plain HTTP)`,
      applied: ["maxConnectionsPerIp"],
      appliedValues: [{ key: "maxConnectionsPerIp", previous: 3, value: 2 }],
      restartNeeded: [],
    });
    expect(after.filter((l) => l.level === "warn")).toEqual([]);
    expect(await upgrade(b.url)).toEqual({ status: 429, code: "too_many_connections" });
    expect(logs(b.s).find((l) => l.reason === "too_many_connections")).toMatchObject({ limit: 2, open: 2 });
    expect(open.map((s) => s.ws.readyState)).toEqual([WebSocket.OPEN, WebSocket.OPEN]);

    // A file with one good change and one bad value: neither is put in force.
    cfg.writeRaw(JSON.stringify({ host: "127.0.0.1", port: 0, dataDir: join(cfg.root, "data"), maxConnectionsPerIp: 50, sendRate: "fast" }));
    const refused = await hangup(b.s);
    expect(refused.find((l) => l.level === "error")?.msg).toStartWith(`config file not reloaded: sendRate from ${cfg.file}: expected an integer`);
    expect(refused.find(summary)).toMatchObject({ applied: [], appliedValues: [] });
    expect(await upgrade(b.url)).toEqual({ status: 429, code: "too_many_connections" });

    cfg.edit({ maxConnectionsPerIp: 3 });
    expect((await hangup(b.s)).find(summary)?.applied).toEqual(["maxConnectionsPerIp"]);
    const third = await rawSocket(b.url);
    expect(await upgrade(b.url)).toEqual({ status: 429, code: "too_many_connections" });
    for (const s of [...open, third]) s.ws.close();
  }, 60_000);

  test("sendRate and sendBurst: a burst refused rate_limited before the SIGHUP goes through after it, and a new connection's hello_ack says the new limits", async () => {
    const cfg = brokerConfig("cm-hup-rate-", { sendRate: 1, sendBurst: 2 });
    await using b = await serve(["--config", cfg.file]);
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const { s, ack } = await helloed(b.url, owner);
    expect(ack.limits).toMatchObject({ sendRatePerSec: 1, sendBurst: 2 });
    const before = await sendMany(s, bob.keys.publicKey, 10);
    expect(before.rate_limited).toBeGreaterThanOrEqual(7);

    cfg.edit({ sendRate: 100_000, sendBurst: 1000 });
    expect((await hangup(b.s)).find(summary)).toMatchObject({
      msg: `SIGHUP: read ${cfg.file} again: applied sendRate 1 → 100000, sendBurst 2 → 1000; no TLS certificate to reload (this broker serves plain HTTP)`,
      appliedValues: [{ key: "sendRate", previous: 1, value: 100_000 }, { key: "sendBurst", previous: 2, value: 1000 }],
    });
    // The same member's bucket, on the same connection: it now refills at the new rate.
    expect(await sendMany(s, bob.keys.publicKey, 20)).toEqual({ result: 20 });
    const again = await helloed(b.url, owner);
    expect(again.ack.limits).toMatchObject({ sendRatePerSec: 100_000, sendBurst: 1000 });
    s.ws.close();
    again.s.ws.close();
  }, 60_000);

  test("queueQuota lowered refuses new sends and keeps what is queued; a new messageTtl is given to messages queued after it", async () => {
    const cfg = brokerConfig("cm-hup-quota-", { queueQuota: 5, queueSenderShare: 100 });
    await using b = await serve(["--config", cfg.file]);
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const { s } = await helloed(b.url, owner);
    expect(await sendMany(s, bob.keys.publicKey, 3)).toEqual({ result: 3 });

    cfg.edit({ queueQuota: 4, messageTtl: "1h" });
    expect((await hangup(b.s)).find(summary)?.msg).toStartWith(`SIGHUP: read ${cfg.file} again: applied messageTtl 7d → 1h, queueQuota 5 → 4;`);
    expect(await sendMany(s, bob.keys.publicKey, 2)).toEqual({ result: 1, quota_exceeded: 1 });

    // The broker's database: the three queued before keep their 7 days, the fourth has an hour.
    const db = new Database(join(cfg.root, "data", "claudemesh.db"), { readonly: true });
    const ttls = db.query<{ ttl: number }, []>("SELECT q.expires_at - m.created_at AS ttl FROM queue q JOIN messages m ON m.seq = q.message_seq ORDER BY q.message_seq").all().map((r) => Math.round(r.ttl / 60_000));
    db.close();
    expect(ttls).toEqual([7 * 24 * 60, 7 * 24 * 60, 7 * 24 * 60, 60]);
    // Nothing queued was deleted: bob gets all four.
    const peer = await connect(b.url, bob);
    expect((await peer.waitMessages(4)).length).toBe(4);
    peer.close();
    s.ws.close();
  }, 60_000);

  test("claimEvery and claimBurst: a claim refused 429 before the SIGHUP is taken after it", async () => {
    const cfg = brokerConfig("cm-hup-claims-", { claimBurst: 1, claimEvery: "1d" });
    await using b = await serve(["--config", cfg.file]);
    const { owner } = await createTestMesh(b.url);
    const invite = await createInvite(b.url, owner, { maxUses: 5 });
    await joinWithInvite(b.url, invite, "first");
    await expect(joinWithInvite(b.url, invite, "second")).rejects.toMatchObject({ code: "rate_limited", message: expect.stringContaining("1 at once, then one every 1d") });
    cfg.edit({ claimEvery: "10ms", claimBurst: 3 });
    expect((await hangup(b.s)).find(summary)?.msg).toStartWith(`SIGHUP: read ${cfg.file} again: applied claimBurst 1 → 3, claimEvery 1d → 10ms;`);
    await until(async () => (await joinWithInvite(b.url, invite, "second").then(() => true, () => false)), "a claim to be taken");
  }, 60_000);

  test("backupEvery: a schedule turned on by SIGHUP takes its first backup; turned off again, it takes no more", async () => {
    const cfg = brokerConfig("cm-hup-backup-", { backupEvery: 0 });
    await using b = await serve(["--config", cfg.file]);
    await b.s.waitFor(/"msg":"scheduled backups are off \(backupEvery 0\)"/); // the schedule exists, off
    const backups = join(cfg.root, "data", "backups");
    const autos = () => (existsSync(backups) ? readdirSync(backups).filter((n) => n.startsWith("claudemesh-auto-") && n.endsWith(".db")) : []);
    cfg.edit({ backupEvery: "1s", backupKeep: 1 });
    expect((await hangup(b.s)).find(summary)?.msg).toStartWith(`SIGHUP: read ${cfg.file} again: applied backupEvery 0s → 1s, backupKeep 7 → 1;`);
    await until(() => logs(b.s).some((l) => l.msg === "scheduled backup taken"), "a scheduled backup", 30_000);
    await until(() => logs(b.s).filter((l) => l.msg === "scheduled backup taken").length >= 2, "a second one", 30_000);
    expect(autos().length).toBe(1); // backupKeep 1
    cfg.edit({ backupEvery: 0 });
    expect((await hangup(b.s)).map((l) => l.msg)).toContain("scheduled backups are off (backupEvery 0)");
    // A backup under way when it was turned off ends as it would have; none starts after it.
    const taken = logs(b.s).filter((l) => l.msg === "scheduled backup taken").length;
    await Bun.sleep(3000); // three intervals of the schedule turned off
    expect(logs(b.s).filter((l) => l.msg === "scheduled backup taken").length).toBeLessThanOrEqual(taken + 1);
  }, 90_000);
});
