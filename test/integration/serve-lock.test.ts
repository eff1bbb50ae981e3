// `claudemesh serve --check` beside a live `serve` (src/cli/commands/serve.ts, servingBroker in
// src/broker/pid-file.ts; docs/operations.md "Durability"): the check must never open, and so
// possibly migrate, a database a broker is serving. With the PID file it names the broker's PID;
// with the PID file deleted, the held `claudemesh.lock` alone still tells it a broker is there.
// Once the broker stopped, the check opens the database. The lock file of a real broker is 0600
// with no `-journal` beside it.
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync, statSync } from "node:fs";
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
