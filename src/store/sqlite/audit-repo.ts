// The hash-chained audit log. Appends for one mesh are serialised: the tail is read inside the
// same write transaction that inserts the next entry, and SQLite has a single writer, so two
// appends can never both link to the same tail (the PRIMARY KEY (mesh_id, seq) would refuse it).
import type { Database } from "bun:sqlite";
import { auditHash, GENESIS, type ChainEntry } from "../../protocol/audit-chain.ts";
import { canonicalJson } from "../../protocol/canonical-json.ts";
import type { AuditEvent } from "../types.ts";
import { auditFromRow, type AuditRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

export class AuditRepo {
  constructor(private readonly db: Database) {}

  /** Appends inside the caller's write transaction, so the entry commits or rolls back with the
   *  change it records. Throws TypeError if the payload cannot be canonicalised. */
  appendIn(event: AuditEvent): ChainEntry {
    const tail = this.db
      .query<{ seq: number; hash: string }, [string]>("SELECT seq, hash FROM audit_log WHERE mesh_id = ? ORDER BY seq DESC LIMIT 1")
      .get(event.meshId);
    const seq = (tail?.seq ?? 0) + 1;
    const prevHash = tail?.hash ?? GENESIS;
    const createdAt = new Date().toISOString();
    const payload = canonicalJson(event.payload);
    const hash = auditHash(prevHash, event.meshId, event.eventType, event.actor, event.payload, createdAt);
    this.db
      .query(
        `INSERT INTO audit_log (mesh_id, seq, event_type, actor, payload, created_at, prev_hash, hash)
         VALUES ($meshId, $seq, $eventType, $actor, $payload, $createdAt, $prevHash, $hash)`,
      )
      .run({ meshId: event.meshId, seq, eventType: event.eventType, actor: event.actor, payload, createdAt, prevHash, hash });
    return { seq, meshId: event.meshId, eventType: event.eventType, actor: event.actor, payload: JSON.parse(payload), createdAt, prevHash, hash };
  }

  /** Appends in its own transaction. */
  append(event: AuditEvent): ChainEntry {
    return writeTx(this.db, () => this.appendIn(event));
  }

  /** Entries with seq > afterSeq, oldest first, at most `limit`. */
  list(meshId: string, afterSeq: number, limit: number): ChainEntry[] {
    return this.db
      .query<AuditRow, [string, number, number]>("SELECT * FROM audit_log WHERE mesh_id = ? AND seq > ? ORDER BY seq LIMIT ?")
      .all(meshId, afterSeq, limit)
      .map(auditFromRow);
  }

  /** The newest `limit` entries, newest first. */
  tail(meshId: string, limit: number): ChainEntry[] {
    return this.db.query<AuditRow, [string, number]>("SELECT * FROM audit_log WHERE mesh_id = ? ORDER BY seq DESC LIMIT ?").all(meshId, limit).map(auditFromRow);
  }

  /** Entries in each mesh's chain, by mesh id, in mesh id order: one scan of the audit index. */
  sizes(): Map<string, number> {
    const rows = this.db.query<{ meshId: string; n: number }, []>("SELECT mesh_id AS meshId, count(*) AS n FROM audit_log GROUP BY mesh_id ORDER BY mesh_id").all();
    return new Map(rows.map((r) => [r.meshId, r.n]));
  }

  count(meshId: string): number {
    return this.db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM audit_log WHERE mesh_id = ?").get(meshId)!.n;
  }
}
