// A slow disk (docs/operations.md, "A slow disk"). Review delayed every fdatasync by 400 ms with
// strace: sends went from 3 ms to 712 ms, readiness answered 200, nothing was logged, and only
// broker_commit_batch_size moved. Now each WAL flush is timed into broker_wal_flush_seconds and a
// flush over 1 s is logged as a warning naming the data directory and what to look at.
import { expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";
import { attachStrace } from "../helpers/strace.ts";

const bucket = (metrics: string, le: string) => Number(new RegExp(`^broker_wal_flush_seconds_bucket\\{le="${le.replace("+", "\\+")}"\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? NaN);

test("a WAL flush slowed to 1.2 s shows in broker_wal_flush_seconds and as a warning naming the data directory", async () => {
  const dataDir = tempDir("cm-slow-disk-");
  await using b = await spawnBroker(dataDir);
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const a = await connect(b.url, owner, { receive: "pull" });
  await sendText(a, bob.keys.publicKey, "fast");
  const before = await (await fetch(`${b.url}/metrics`)).text();
  expect(bucket(before, "1")).toBeGreaterThan(0); // flushes are timed at all
  expect(bucket(before, "+Inf") - bucket(before, "1")).toBe(0);
  expect(b.stderr()).not.toContain("flushing the database to disk took over");

  // Every fdatasync of the WAL returns 1.2 s late: the disk is slow, not failing.
  const wal = join(realpathSync(dataDir), "claudemesh.db-wal");
  const strace = await attachStrace(b.proc.pid, ["-P", wal, "-e", "trace=fdatasync", "-e", "inject=fdatasync:delay_exit=1200000"]);
  await sendText(a, bob.keys.publicKey, "slow");
  await strace.detach();

  const after = await (await fetch(`${b.url}/metrics`)).text();
  expect(bucket(after, "+Inf") - bucket(after, "1")).toBeGreaterThanOrEqual(1);
  const line = b
    .stderr()
    .split("\n")
    .find((l) => l.includes("flushing the database to disk took over 1 s"));
  expect(line).toBeDefined();
  const fields = JSON.parse(line!);
  expect(fields).toMatchObject({ level: "warn", dataDir, fix: expect.stringContaining(`the disk holding ${dataDir} is slow`) });
  expect(fields.flushMs).toBeGreaterThanOrEqual(1000);
  a.close();
}, 30_000);
