// The numbered SQL migrations, embedded in the binary at build time. Add a file to migrations/
// and list it here; a test checks that both agree.
import m0001 from "../../migrations/0001_init.sql" with { type: "text" };
import m0002 from "../../migrations/0002_lean_queue.sql" with { type: "text" };
import m0003 from "../../migrations/0003_admission_evidence.sql" with { type: "text" };
import m0004 from "../../migrations/0004_session_attestation.sql" with { type: "text" };
import m0005 from "../../migrations/0005_member_revoked_by.sql" with { type: "text" };
import m0006 from "../../migrations/0006_message_undeliverable.sql" with { type: "text" };
import m0007 from "../../migrations/0007_queue_for_next_session.sql" with { type: "text" };
import m0008 from "../../migrations/0008_session_indexes.sql" with { type: "text" };
import m0009 from "../../migrations/0009_member_indexes.sql" with { type: "text" };

export type Migration = { version: number; name: string; sql: string };

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "0001_init.sql", sql: m0001 },
  { version: 2, name: "0002_lean_queue.sql", sql: m0002 },
  { version: 3, name: "0003_admission_evidence.sql", sql: m0003 },
  { version: 4, name: "0004_session_attestation.sql", sql: m0004 },
  { version: 5, name: "0005_member_revoked_by.sql", sql: m0005 },
  { version: 6, name: "0006_message_undeliverable.sql", sql: m0006 },
  { version: 7, name: "0007_queue_for_next_session.sql", sql: m0007 },
  { version: 8, name: "0008_session_indexes.sql", sql: m0008 },
  { version: 9, name: "0009_member_indexes.sql", sql: m0009 },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
