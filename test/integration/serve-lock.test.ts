// `claudemesh serve --check` beside a live `serve` (src/cli/commands/serve.ts, servingBroker in
// src/broker/pid-file.ts; docs/operations.md "Durability"): the check must never open, and so
// possibly migrate, a database a broker is serving. With the PID file it names the broker's PID;
// with the PID file deleted, the held `claudemesh.lock` alone still tells it a broker is there.
// Once the broker stopped, the check opens the database. The lock file of a real broker is 0600
// with no `-journal` beside it.
// The lock, not a PID file, decides (src/broker/pid-file.ts): a stale PID file naming some live
// `… serve` process keeps nobody out.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";

const cfg = tempDir("cm-serve-lock-cfg-");
const check = async (data: string) => {
  const r = await cli(cfg, ["serve", "--check", "--data-dir", data]);
  return { code: r.code, stdout: r.stdout };
};

describe("serve --check beside a live broker", () => {
  test("names the broker by its PID file, still sees it by its lock once that file is deleted, and opens the database only after it stopped", async () => {
    const data = tempDir("cm-serve-lock-");
    await using broker = await spawnBroker(data);
    const lock = join(data, "claudemesh.lock");
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    expect(existsSync(`${lock}-journal`)).toBe(false);

    const notOpened = `is serving ${data}, so the database was not opened\n`;
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; a broker (PID ${broker.proc.pid}) ${notOpened}` });
    rmSync(join(data, "claudemesh.pid"));
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; a broker ${notOpened}` });

    broker.proc.kill("SIGTERM");
    expect(await broker.proc.exited).toBe(0);
    expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; database writable at schema version ${LATEST_VERSION}\n` });
  }, 30_000);
});

const MAIN = join(import.meta.dir, "../../src/main.ts");

/** Runs `serve` on `data` until it either listens (then it is stopped: "started") or exits (its
 *  code and stderr). A refusal must come as one clear line, never a stack trace. */
async function serveOnce(data: string, extra: string[] = []): Promise<"started" | { code: number; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "run", MAIN, "serve", "--port", "0", "--data-dir", data, ...extra], { stdout: "ignore", stderr: "pipe", env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stderr) {
    text += decoder.decode(chunk);
    if (text.includes('"msg":"broker listening"')) {
      proc.kill("SIGTERM");
      await proc.exited;
      return "started";
    }
  }
  return { code: await proc.exited, stderr: text };
}

describe("the lock decides who holds a data directory, not a PID file", () => {
  test("a PID file left by a dead broker that now names a live `… serve` process keeps neither serve, serve --check nor admin restore out", async () => {
    const data = tempDir("cm-serve-stale-");
    // A live process whose argv holds "serve", as after a reboot reused the PID.
    const impostor = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1 << 30)", "serve"], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200); // argv is in /proc once the process has exec'd
      writeFileSync(join(data, "claudemesh.pid"), `${impostor.pid}\n`);
      expect(await check(data)).toEqual({ code: 0, stdout: `configuration ok; database writable at schema version ${LATEST_VERSION}\n` });

      await using broker = await spawnBroker(data);
      // The broker overwrote the stale file with its own PID.
      expect(readFileSync(join(data, "claudemesh.pid"), "utf8")).toBe(`${broker.proc.pid}\n`);
      expect(await serveOnce(data)).toEqual({ code: 1, stderr: `claudemesh serve: another broker (PID ${broker.proc.pid}) is serving ${data}; two brokers must not share one database.\n` });
      broker.proc.kill("SIGTERM");
      expect(await broker.proc.exited).toBe(0);

      // The same stale file in front of a restore.
      writeFileSync(join(data, "claudemesh.pid"), `${impostor.pid}\n`);
      const backup = await cli(cfg, ["admin", "backup", "--data-dir", data, "--json"]);
      expect(backup.code).toBe(0);
      const restored = await cli(cfg, ["admin", "restore", backup.json().file, "--data-dir", data, "--force"], { timeoutMs: 30_000 });
      expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      impostor.kill("SIGKILL");
    }
  }, 60_000);
});
