// A mesh's invite history written straight into a test broker's database: thousands of invites in
// one transaction, as the change allowance writes them over days (through the store each one with
// its audit entry takes seconds per thousand; on the wire, the allowance takes minutes). For tests
// of what reads that history (invite_list's pages, docs/protocol.md §4.3.23); nothing is signed.
import { randomBytes } from "node:crypto";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { TestBroker } from "./broker.ts";

/** One invite: `createdAt` as given (rows may share a millisecond); open unless told otherwise. */
export type InviteRow = { id: string; createdAt: number; expiresAt?: number; revokedAt?: number | null; usedCount?: number; maxUses?: number };

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** Writes `rows`, in the order given, as invites `issuer` made in its mesh. */
export function inviteRows(b: TestBroker, issuer: { meshId: string; memberId: string; pubkey: string }, rows: readonly InviteRow[]): void {
  const db = (b.ctx.store as SqliteStore).db;
  const insert = db.query(
    `INSERT INTO invites (id, mesh_id, role, max_uses, used_count, expires_at, issuer_member_id, issuer_pubkey, invite_pubkey, signature, key_signature, created_at, revoked_at)
     VALUES (?, ?, 'member', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const inADay = Math.floor(Date.now() / 1000) + 86_400;
  db.transaction(() => {
    for (const r of rows) insert.run(r.id, issuer.meshId, r.maxUses ?? 1, r.usedCount ?? 0, r.expiresAt ?? inADay, issuer.memberId, issuer.pubkey, hex(32), hex(64), hex(64), r.createdAt, r.revokedAt ?? null);
  })();
}
