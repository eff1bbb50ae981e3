// A status or summary change the store could not write (a full disk) is undone in memory too:
// the member was told it failed, so peers must not go on seeing it, delivery must not go on gating
// by it, and a restart must not change what list_peers shows. Found by the I/O-error loop
// (io-error-loop.test.ts): `set_status idle` answered "disk is full", yet the live broker showed
// idle and the restarted one dnd. Real process, real failing syscall: strace makes every write to
// the WAL fail with ENOSPC, as a full disk does.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { realpathSync } from "node:fs";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";
import { attachStrace } from "../helpers/strace.ts";
import { tempDir } from "../helpers/temp-dir.ts";

test("a status and a summary the disk refused are undone: peers see, and are told, what holds", async () => {
  const dir = tempDir("cm-status-full-");
  await using b = await spawnBroker(dir);
  const { owner } = await createTestMesh(b.url);
  const carol = await addMember(b.url, owner, "carol");
  const fast = { unavailableRetryMs: 0, requestTimeoutMs: 5000 };
  const a = await connect(b.url, owner, {}, fast);
  const c = await connect(b.url, carol, {}, fast);
  await c.client.request("set_status", { status: "dnd" });
  await c.client.request("set_summary", { summary: "before" });
  const shown = async () => (await a.client.request("list_peers", {})).peers.find((p) => p.displayName === "carol");
  expect(await shown()).toMatchObject({ status: "dnd", summary: "before" });

  {
    await using _full = await attachStrace(b.proc.pid, ["-P", join(realpathSync(dir), "claudemesh.db-wal"), "-e", "trace=pwrite64", "-e", "inject=pwrite64:error=ENOSPC"]);
    const full = { code: "unavailable", message: expect.stringContaining("disk is full") };
    await expect(c.client.request("set_status", { status: "idle" })).rejects.toMatchObject(full);
    await expect(c.client.request("set_summary", { summary: "after" })).rejects.toMatchObject(full);
  }
  expect(await shown()).toMatchObject({ status: "dnd", summary: "before" });
  // The last word peers got is the status that holds, not the one that failed.
  const said = a.events.filter((e) => e.event === "peer_status" && e.data.displayName === "carol").at(-1);
  expect(said?.data).toMatchObject({ status: "dnd", summary: "before" });
  a.close();
  c.close();
});
