// Fail-stop after a failed flush of the WAL (synchronous=full). Linux may drop the pages an
// fdatasync could not write and report the error only once, so a later flush that succeeds proves
// nothing about them: the broker refuses every write from then on and says so on /health/ready,
// and `failed` settles so that `claudemesh serve` exits for its supervisor to restart it.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";
import { attachStrace } from "../helpers/strace.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

test("after a failed WAL flush every write is refused, even once flushing works again", async () => {
  await using b = await startBroker({ synchronous: "full" });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  // The client retries a send answered `unavailable` until its timeout (its outcome is unknown);
  // a short timeout makes that wait short, and the error it ends with is still the broker's.
  const a = await connect(b.url, owner, {}, { requestTimeoutMs: 1500 });
  await sendText(a, bob.keys.publicKey, "before");

  const wal = (b.ctx.store as SqliteStore as unknown as { disk: { wal: { sync(): Promise<void> } } }).disk.wal;
  const sync = wal.sync.bind(wal);
  wal.sync = () => Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
  await expect(sendText(a, bob.keys.publicKey, "during")).rejects.toMatchObject({ code: "unavailable" });
  wal.sync = sync; // the disk answers again; the broker must not trust what it wrote meanwhile

  await expect(sendText(a, bob.keys.publicKey, "after")).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("stopping") });
  await expect(a.client.request("set_status", { status: "dnd" })).rejects.toMatchObject({ code: "unavailable" });
  const ready = await fetch(`${b.url}/health/ready`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { reason: string }).reason).toBeTruthy();
  expect((await fetch(`${b.url}/health`)).status).toBe(200); // alive: the supervisor decides
  expect(await b.failed).toBeInstanceOf(Error);
  a.close();
});

// The whole path in the real process, with a real failing syscall: once the broker is up, strace
// attaches and makes the kernel answer EIO to every fdatasync, which the broker uses only to flush
// its WAL (SQLite's own syncs are fsync).
test("when the kernel fails the WAL flush, `serve` answers the request under way, logs the EIO and exits 74 (EX_IOERR)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cm-eio-"));
  await using b = await spawnBroker(dir);
  const strace = await attachStrace(b.proc.pid, ["-e", "trace=fdatasync", "-e", "inject=fdatasync:error=EIO"]);
  try {
    // The write committed but was not flushed: its outcome is unknown, and the broker says so
    // before it exits (not a dropped connection).
    const created = await createTestMesh(b.url).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(created).toMatchObject({ code: "unavailable", message: expect.stringContaining("could not be flushed to disk") });
    expect(await b.proc.exited).toBe(74);
    // The log says what failed and why (the kernel's EIO, not only "could not be flushed").
    const logged = b.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const failure = logged.find((l) => l.level === "error" && l.msg.includes("could not be flushed to disk"));
    expect(failure?.err).toMatchObject({ code: "unavailable", cause: { code: "EIO", message: expect.stringContaining("fdatasync") } });
    expect(logged.at(-1)?.msg).toBe("broker stopped");
  } finally {
    await strace.detach();
    rmSync(dir, { recursive: true, force: true });
  }
});
