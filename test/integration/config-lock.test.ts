// config.json is changed by several processes at once (every Claude Code session's MCP server, and
// commands): updateConfig serialises their read-modify-write with a lock file, so no change is lost,
// and a lock whose holder died is taken over (src/client/local/config-lock.ts).
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { CONFIG_LOCK } from "../../src/client/local/config-lock.ts";
import { addMeshKeys, loadConfig, saveConfig, updateConfig, type MeshEntry } from "../../src/client/local/config-file.ts";

const WRITER = join(import.meta.dir, "../fixtures/config-writer.ts");
const hex = (n: number) => n.toString(16).padStart(64, "0");
const entry: MeshEntry = {
  meshId: "m1", slug: "team", name: "Team", brokerUrl: "http://127.0.0.1:7900", memberId: "mbr1", displayName: "alice", role: "member",
  ownerPubkey: hex(1), publicKey: hex(2), secretKey: hex(3).repeat(2), meshKeys: [{ epoch: 0, key: hex(0) }], joinedAt: 1,
};

function configDir(): string {
  const dir = join(tempDir("cm-lock-"), "config");
  saveConfig(dir, { version: 1, meshes: [entry] });
  return dir;
}

/** Four writer processes adding 40 epochs each, from 1, 1001, 2001, 3001: two wait for the lock
 *  blocking (as commands do), two on their event loop (as MCP servers do). */
async function fourWriters(dir: string) {
  const procs = [0, 1, 2, 3].map((p) => Bun.spawn([process.execPath, WRITER, dir, "m1", String(1 + p * 1000), "40", p % 2 ? "async" : "sync"], { stderr: "pipe" }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  expect({ codes, stderr: await Promise.all(procs.map((p) => new Response(p.stderr).text())) }).toEqual({ codes: [0, 0, 0, 0], stderr: ["", "", "", ""] });
}

const deadPid = () => Bun.spawnSync([process.execPath, "-e", "process.stdout.write(String(process.pid))"]).stdout.toString();

describe("config.json lock", () => {
  test("four processes adding 40 keys each at the same time: all 160 are kept", async () => {
    const dir = configDir();
    await fourWriters(dir);
    const epochs = loadConfig(dir).meshes[0]!.meshKeys.map((k) => k.epoch);
    expect(epochs.length).toBe(161);
    expect(existsSync(join(dir, CONFIG_LOCK))).toBe(false);
  }, 60_000);

  test("a lock left by a process that is gone is taken over; the change is made", () => {
    const dir = configDir();
    writeFileSync(join(dir, CONFIG_LOCK), deadPid(), { mode: 0o600 });
    updateConfig(dir, addMeshKeys("m1", [{ epoch: 7, key: hex(7) }]));
    expect(loadConfig(dir).meshes[0]!.meshKeys.map((k) => k.epoch)).toEqual([0, 7]);
    expect(existsSync(join(dir, CONFIG_LOCK))).toBe(false);
  });

  test("a lock naming this very process is stale (its PID reused: a container's claudemesh often gets the same one): taken over without waiting", () => {
    const dir = configDir();
    writeFileSync(join(dir, CONFIG_LOCK), String(process.pid), { mode: 0o600 });
    const waitedFor: number[] = [];
    updateConfig(dir, addMeshKeys("m1", [{ epoch: 7, key: hex(7) }]), (holder) => waitedFor.push(holder));
    expect({ waitedFor, epochs: loadConfig(dir).meshes[0]!.meshKeys.map((k) => k.epoch), lock: existsSync(join(dir, CONFIG_LOCK)) }).toEqual({ waitedFor: [], epochs: [0, 7], lock: false });
  });

  test("four processes finding the same dead holder's lock: one takes it over, none waits for long, all changes are kept", async () => {
    const dir = configDir();
    writeFileSync(join(dir, CONFIG_LOCK), deadPid(), { mode: 0o600 });
    await fourWriters(dir);
    expect(loadConfig(dir).meshes[0]!.meshKeys.length).toBe(161);
    expect([existsSync(join(dir, CONFIG_LOCK)), existsSync(join(dir, `${CONFIG_LOCK}.takeover`))]).toEqual([false, false]);
  }, 60_000);

  test("a config directory others can read is refused, not quietly tightened", () => {
    const dir = configDir();
    chmodSync(dir, 0o755);
    expect(() => updateConfig(dir, addMeshKeys("m1", [{ epoch: 7, key: hex(7) }]))).toThrow("readable by other users");
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });
});
