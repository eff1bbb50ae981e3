// A restore does not reopen the replay window (docs/protocol.md §2.5; docs/operations.md "Backups
// and restore"). The backup holds the replay table as it was when it was taken: a hello the broker
// accepted after that, captured, and replayed when the broker starts on the restored database
// less than 61 s after it was signed, was answered hello_ack as the member. The restore now carries
// the replaced database's replay memory into the one it installs; when it cannot read it (a damaged
// or missing database), it refuses every signature the broker may have accepted before the restore:
// for a minute after the restore, fresh ones too (`unavailable`, which clients retry).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildHello } from "../../src/client/credentials.ts";
import { admin } from "../helpers/admin.ts";
import { brokerClock, startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { call, code, loginOf } from "../helpers/dashboard.ts";
import { addMember, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";
import { rawSocket } from "../helpers/raw.ts";

/** The broker's answer to the hello text `text`: hello_ack, or the refusal's code with its close. */
async function helloAnswer(b: { url: string }, text: string): Promise<{ frame: string; close?: { code: number; reason: string } }> {
  const s = await rawSocket(b.url);
  s.send(text);
  const f = await s.next();
  if (f.type === "hello_ack") {
    s.ws.close();
    return { frame: "hello_ack" };
  }
  return { frame: f.code, close: await s.closed };
}

const helloText = (m: TestMember, atMs: number) => JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: "s", pid: 4242, cwd: "/home/bob" }, atMs));
const refused = (code: string) => ({ frame: code, close: { code: 1008, reason: code } });
const login = (b: TestBroker, body: unknown) => call(b, "POST", "/v1/dashboard/login", { body }).then((r) => (r.status === 200 ? "ok" : code(r).code));

/** A broker on `dataDir` with bob a member, backed up by the real CLI; then bob says hello and the
 *  owner opens the dashboard (what a replayer captures), and the broker is stopped. */
async function acceptedAfterBackup(dataDir: string) {
  await using b = await startBroker({}, { dataDir });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const backup = await admin(["backup", "--data-dir", dataDir, "--json"]);
  expect(backup.code).toBe(0);
  const captured = { hello: helloText(bob, Date.now()), link: loginOf(b, owner) };
  expect([await helloAnswer(b, captured.hello), await login(b, captured.link)]).toEqual([{ frame: "hello_ack" }, "ok"]);
  return { file: backup.json().file as string, bob, owner, captured };
}

const restore = (file: string, dataDir: string) => admin(["restore", file, "--data-dir", dataDir, "--force", "--json"]);

describe("a restore keeps what the replay table knew", () => {
  test("a hello accepted after the backup, replayed on the restored database, is refused as a replay; a fresh one is accepted", async () => {
    const dataDir = tempDir("cm-restore-replay-");
    const { file, bob, captured } = await acceptedAfterBackup(dataDir);
    const r = await restore(file, dataDir);
    expect(r.code).toBe(0);
    await using b = await startBroker({}, { dataDir });
    // Before the fix: hello_ack as bob (a second or so after it was first accepted), and a
    // dashboard session as the owner.
    expect([await helloAnswer(b, captured.hello), await login(b, captured.link)]).toEqual([refused("replayed"), "replayed"]);
    expect(await helloAnswer(b, helloText(bob, Date.now()))).toEqual({ frame: "hello_ack" });
    expect(r.json().replayMemory).toEqual({ from: "replaced", signatures: expect.any(Number) });
  }, 60_000);

  test("a broker killed -9 after the hello: the restore reads the signature from the replaced database's -wal", async () => {
    const dataDir = tempDir("cm-restore-replay-killed-");
    let file: string;
    let captured: string;
    {
      await using b = await spawnBroker(dataDir);
      const { owner } = await createTestMesh(b.url);
      const bob = await addMember(b.url, owner, "bob");
      const backup = await admin(["backup", "--data-dir", dataDir, "--json"]);
      expect(backup.code).toBe(0);
      file = backup.json().file;
      captured = helloText(bob, Date.now());
      expect(await helloAnswer(b, captured)).toEqual({ frame: "hello_ack" });
      b.proc.kill("SIGKILL");
      await b.proc.exited;
    }
    expect(existsSync(join(dataDir, "claudemesh.db-wal"))).toBe(true);
    const r = await restore(file, dataDir);
    expect({ code: r.code, replayMemory: r.json().replayMemory }).toEqual({ code: 0, replayMemory: { from: "replaced", signatures: expect.any(Number) } });
    // The replaced database is kept aside as it was, its -wal and -shm with it.
    expect(readdirSync(dataDir).filter((f) => f.includes("before-restore")).map((f) => f.replace(/\d{8}T\d{6}Z/, "T")).toSorted()).toEqual(["claudemesh.db.before-restore-T", "claudemesh.db.before-restore-T-shm", "claudemesh.db.before-restore-T-wal"]);
    await using b = await startBroker({}, { dataDir });
    expect(await helloAnswer(b, captured)).toEqual(refused("replayed"));
  }, 60_000);

  test("when the replaced database cannot be read, what the broker may have accepted before the restore is refused", async () => {
    const dataDir = tempDir("cm-restore-replay-damaged-");
    const { file, bob, owner, captured } = await acceptedAfterBackup(dataDir);
    const damage = () => writeFileSync(join(dataDir, "claudemesh.db"), "not a database ".repeat(512));
    damage();
    const r = await admin(["restore", file, "--data-dir", dataDir, "--force"]);
    expect(r.code).toBe(0);
    {
      await using b = await startBroker({}, { dataDir });
      // Before the fix: hello_ack and ok, as with a readable database.
      expect([await helloAnswer(b, captured.hello), await login(b, captured.link)]).toEqual([refused("unavailable"), "expired"]);
      // The price, within the minute after the restore: a fresh hello and a fresh link are refused
      // too (the broker cannot tell them from ones signed just before it), and accepted after it.
      expect([await helloAnswer(b, helloText(bob, Date.now())), await login(b, loginOf(b, owner))]).toEqual([refused("unavailable"), "expired"]);
      brokerClock(b, 61_000);
      expect([await helloAnswer(b, helloText(bob, Date.now() + 61_000)), await login(b, loginOf(b, owner, Date.now() + 61_000))]).toEqual([{ frame: "hello_ack" }, "ok"]);
    }
    expect(r.stdout.match(/replay memory not kept[^\n]*\n[^\n]*/)?.[0]).toContain("the replaced database cannot be read");
    // --json says it too; so does a restore into a directory with no database at all.
    damage();
    const j = await restore(file, dataDir);
    expect({ code: j.code, replayMemory: j.json().replayMemory }).toEqual({ code: 0, replayMemory: { from: "none", why: expect.stringContaining("the replaced database cannot be read"), until: expect.any(String) } });
    const fresh = await restore(file, tempDir("cm-restore-replay-new-"));
    expect({ code: fresh.code, replayMemory: fresh.json().replayMemory }).toEqual({ code: 0, replayMemory: { from: "none", why: "there was no database to replace", until: expect.any(String) } });
  }, 60_000);
});
