// Fail-stop after a failed flush of the WAL (synchronous=full). Linux may drop the pages an
// fdatasync could not write and report the error only once, so a later flush that succeeds proves
// nothing about them: the broker refuses every write from then on and says so on /health/ready,
// and `failed` settles so that `claudemesh serve` exits for its supervisor to restart it.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

test("after a failed WAL flush every write is refused, even once flushing works again", async () => {
  await using b = await startBroker({ synchronous: "full" });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  // The client retries a send answered `unavailable` until its timeout (its outcome is unknown);
  // a short timeout makes that wait short, and the error it ends with is still the broker's.
  const a = await connect(b.url, owner, {}, { requestTimeoutMs: 1500 });
  await sendText(a, bob.keys.publicKey, "before");
  let failedWith: Error | null = null;
  void b.failed.then((e) => (failedWith = e));

  const wal = (b.ctx.store as SqliteStore as unknown as { wal: { sync(): Promise<void> } }).wal;
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
  await Bun.sleep(0);
  expect(failedWith).toBeInstanceOf(Error);
  a.close();
});
