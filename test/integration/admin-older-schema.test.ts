// The operator's upgrade path (docs/operations.md "Upgrading"): a data directory an older
// claudemesh left (schema 4, before members.revoked_by) is backed up with the new binary before
// its first start, and the backup restored, each taking the file as it is; `serve`'s start on the
// restored file then migrates it, fills `revoked_by` from the audit chain and replays the chain
// against it. Both commands verify the chains against the tables as `serve` does, and read a
// column the older file does not have yet: "no such column: revoked_by" failed the backup as
// history that "does not verify" and refused the restore.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openForServe } from "../../src/broker/store-check.ts";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { loadBrokerConfig } from "../../src/config/load.ts";
import { jsonLog } from "../../src/log/log.ts";
import { admin } from "../helpers/admin.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { dropIndexesOf } from "../helpers/old-schema.ts";

/** The database in `dataDir` as schema 4 left it: no revoked_by column (nor 0006's
 *  messages.undeliverable, 0007's queue.for_next_session, 0008's session indexes or 0009's
 *  indexes), no record of 0005 or later. */
function asVersion4(dataDir: string): void {
  const db = new Database(join(dataDir, "claudemesh.db"));
  try {
    for (const version of [8, 9]) dropIndexesOf(db, version);
    db.run("ALTER TABLE members DROP COLUMN revoked_by");
    db.run("ALTER TABLE messages DROP COLUMN undeliverable");
    db.run("ALTER TABLE queue DROP COLUMN for_next_session");
    db.run("DELETE FROM schema_migrations WHERE version >= 5");
  } finally {
    db.close();
  }
}

describe("a data directory of schema 4", () => {
  test("is backed up and restored as it is, and the broker started on it upgrades it", async () => {
    const dataDir = tempDir("cm-v4-data-");
    const ids = await (async () => {
      await using b = await startBroker({}, { dataDir });
      const { owner } = await createTestMesh(b.url);
      const [alice, bob] = [await addMember(b.url, owner, "alice"), await addMember(b.url, owner, "bob")];
      const [o, a] = [await connect(b.url, owner), await connect(b.url, alice)];
      try {
        // A kick whose typed reason is "left", and a real leave.
        await o.client.request("member_revoke", { memberId: bob.memberId, ban: false, reason: "left" });
        await a.client.request("leave", {});
      } finally {
        o.close();
        a.close();
      }
      return { owner: owner.memberId, alice: alice.memberId, bob: bob.memberId };
    })();
    asVersion4(dataDir);

    const backup = join(tempDir("cm-v4-backup-"), "v4.db");
    const made = await admin(["backup", "--data-dir", dataDir, "--out", backup, "--json"]);
    expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
    expect(made.json()).toMatchObject({ schemaVersion: 4, auditChains: { meshes: 1 } });

    const restoredDir = tempDir("cm-v4-restored-");
    const restored = await admin(["restore", backup, "--data-dir", restoredDir, "--json"]);
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restored.json()).toMatchObject({ schemaVersion: 4, auditChains: { meshes: 1 } });

    // `serve`'s own start: migrate, quick_check, verify and replay every chain.
    const logs: string[] = [];
    const store = await openForServe(loadBrokerConfig({ flags: { dataDir: restoredDir }, env: {} }), jsonLog("info", (l) => logs.push(l)), () => {});
    try {
      expect(logs.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ msg: "database migrated", from: 4, to: LATEST_VERSION })]);
      const meshId = (await store.listMeshes())[0]!.id;
      const by = Object.fromEntries((await store.listMembers(meshId)).map((m) => [m.id, [m.revokedReason, m.revokedBy]]));
      expect(by).toEqual({ [ids.owner]: [null, null], [ids.alice]: ["left", ids.alice], [ids.bob]: ["left", ids.owner] });
    } finally {
      store.close();
    }
  }, 90_000);
});
