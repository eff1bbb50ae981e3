// The one storage failure the broker treats apart from the rest: a write lock held by another
// process. Every store implementation throws it for that case; the broker's group commit waits and
// tries again (group-commit.ts), and any other write answers it as the retryable `unavailable`.
import { MeshError } from "../protocol/errors.ts";

/** A write refused because another process holds the database's write lock (an operator's
 *  `sqlite3` shell, a maintenance command): nothing was written, and the same write may succeed
 *  once the lock is released. It is a MeshError `unavailable`, so an edge that does not know it
 *  answers it as such (the client retries with backoff). */
export class StoreLocked extends MeshError {
  constructor(options?: { cause?: unknown }) {
    super("unavailable", "the broker's database is locked by another process; retry shortly", options);
  }
}
