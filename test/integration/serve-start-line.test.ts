// The `broker listening` line (docs/operations.md "Logs"). The on-call review found it the same
// after a kill -9 as after a clean stop, and without the limits in force; and `serve --check`
// beside a live broker printed this shell's settings above "a broker (PID N) is serving …", read
// as PID N's. Now the line says how the previous broker stopped (a PID file left behind: unclean),
// how long the start took, what it found queued and the limits; the check says whose settings.
import { expect, test } from "bun:test";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { spawnBroker, type BrokerProcess } from "../helpers/process.ts";

const startLine = (b: BrokerProcess) =>
  b.stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === "broker listening");

test("the start line tells a restart after kill -9 from one after a clean stop, and says the limits; --check says whose settings it shows", async () => {
  const data = tempDir("cm-start-line-");
  const first = await spawnBroker(data, ["--send-rate", "7"]);
  expect(startLine(first)).toMatchObject({ previousStop: "clean", queueEntries: 0, limits: { sendRate: 7, sendBurst: 100, requestRate: expect.any(Number), requestBurst: expect.any(Number), queueQuota: expect.any(Number), meshQueueQuota: expect.any(Number), messageTtlMs: 7 * 86_400_000 } });
  expect(startLine(first).startMs).toBeGreaterThan(0);
  const check = await cli(tempDir("cm-start-line-cfg-"), ["serve", "--check", "--data-dir", data]);
  expect(check.stdout).toContain(`the settings above are this command's (its environment, flags and config file), not necessarily those of PID ${first.proc.pid}`);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const second = await spawnBroker(data);
  expect(startLine(second)).toMatchObject({ previousStop: "unclean" });
  second.proc.kill("SIGTERM");
  expect(await second.proc.exited).toBe(0);
  await using third = await spawnBroker(data);
  expect(startLine(third)).toMatchObject({ previousStop: "clean" });
}, 60_000);
