// Write transactions. Every write runs under BEGIN IMMEDIATE: it takes the database's single
// write lock before reading anything, so a read-then-write (audit tail, invite use count, queue
// claim) cannot interleave with a writer on another connection. Nested calls become savepoints.
import type { Database } from "bun:sqlite";

/** Writes made inside a caller's transaction, and the in-memory update to make once it committed
 *  (never before: a rolled-back write must leave the in-memory state as it was). */
export type Staged<T> = { out: T; apply(): void };

/** Runs `fn` in an immediate transaction; commits on return, rolls back and rethrows on throw. */
export function writeTx<T>(db: Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}
