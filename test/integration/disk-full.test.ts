// A full disk: every send fails with `unavailable`, and the operator must hear of it. Review found
// readiness saying ready (its one-row probe still fitted in WAL space the failed transactions had
// freed), broker_db_healthy at 1, and nothing logged. Now a write that failed for the disk or the
// file keeps readiness and the gauge down, with its cause, until a write succeeds again, and is
// logged. (Here the disk ends up full enough that the probe fails too; the log line and the cause
// in readiness are what only the fix gives; the sender hearing "its disk is full" came later.) Needs root, to mount a small tmpfs as the data
// directory.
import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";

test.skipIf(process.getuid?.() !== 0)("a full disk fails sends, shows on readiness, the gauge and the log, and clears once space is freed", async () => {
  const mnt = tempDir("cm-full-");
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt]).exitCode).toBe(0);
  try {
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(512 * 1024));
    await using b = await startBroker({}, { dataDir: join(mnt, "data") });
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    // The client retries a send answered `unavailable` until its request timeout: keep that short.
    const a = await connect(b.url, owner, { receive: "pull" }, { requestTimeoutMs: 1500 });
    let failure: { code?: string; message?: string } | null = null;
    for (let i = 0; i < 400 && !failure; i++) {
      failure = await sendText(a, bob.keys.publicKey, "x".repeat(30_000)).then(
        () => null,
        (e: { code?: string }) => e,
      );
    }
    // The sender is told why, so a member can tell the operator more than "unavailable".
    expect({ code: failure?.code, message: failure?.message }).toEqual({ code: "unavailable", message: "the broker's database is unavailable: its disk is full" });
    const ready = await fetch(`${b.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain("SQLITE_FULL");
    expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/^broker_db_healthy 0$/m);
    // The line names the data directory and what to do, in the words a refused start uses
    // (review, session 33: it had neither).
    const dataDir = join(mnt, "data");
    const full = b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg.includes("the database is unavailable") && l.code === "SQLITE_FULL");
    expect(full.length).toBeGreaterThanOrEqual(1);
    expect(full[0]).toMatchObject({ dataDir, fix: `the disk holding ${dataDir} is full: free space there, then writes go through again by themselves (no restart needed)` });
    const recovered = () => b.logs.filter((l) => l.includes("writes go through again") && l.includes("after disk trouble"));
    expect(recovered()).toEqual([]);

    rmSync(filler); // the operator frees space
    await sendText(a, bob.keys.publicKey, "room again");
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(200);
    // And hears that it worked, once.
    await sendText(a, bob.keys.publicKey, "and again");
    expect(recovered().map((l) => JSON.parse(l))).toMatchObject([{ level: "info", dataDir, after: expect.stringContaining("SQLITE_FULL") }]);
    a.close();
  } finally {
    Bun.spawnSync(["umount", "-l", mnt]);
  }
}, 60_000);
