// Shared setup for the store tests: real SQLite files in temp dirs, a seeded mesh, members
// enrolled through real invites, and message builders.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomId } from "../../src/crypto/hash.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import type { Member, Mesh, NewMessage, StoredMessage } from "../../src/store/types.ts";

export const pubkey = () => randomBytes(32).toString("hex");

/** Temp dirs made by a test file; call `cleanup` in afterEach/afterAll. */
export class TempDirs {
  private readonly dirs: string[] = [];
  private readonly stores: SqliteStore[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), "cm-store-"));
    this.dirs.push(dir);
    return dir;
  }

  async open(dir = this.make()): Promise<SqliteStore> {
    const store = await openSqliteStore({ dataDir: dir, synchronous: "normal" });
    this.stores.push(store);
    return store;
  }

  cleanup(): void {
    for (const s of this.stores.splice(0)) {
      try {
        s.close();
      } catch {}
    }
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export async function seedMesh(store: SqliteStore, slug = "team"): Promise<{ mesh: Mesh; owner: Member }> {
  const ownerPubkey = pubkey();
  return store.createMesh({
    mesh: { id: randomId(), slug, name: "Team", ownerPubkey, createdAt: Date.now() },
    owner: { id: randomId(), pubkey: ownerPubkey, displayName: "owner" },
  });
}

/** A claim's evidence as the store keeps it (the store does not check signatures). */
export const fakeClaim = () => ({ timestamp: Date.now(), inviteSignature: randomBytes(64).toString("hex") });

/** Issues an invite as `issuer`; defaults: member role, 1 use, valid for an hour. */
export async function invite(store: SqliteStore, issuer: Member, over: { maxUses?: number; expiresAt?: number; keysBlob?: string | null } = {}) {
  return store.createInvite(
    {
      id: randomId(),
      meshId: issuer.meshId,
      role: "member",
      maxUses: over.maxUses ?? 1,
      expiresAt: over.expiresAt ?? Math.floor(Date.now() / 1000) + 3600,
      issuerMemberId: issuer.id,
      issuerPubkey: issuer.pubkey,
      invitePubkey: pubkey(),
      signature: randomBytes(64).toString("hex"),
      keySignature: randomBytes(64).toString("hex"),
      keysBlob: over.keysBlob === undefined ? "c2VhbGVk" : over.keysBlob,
      createdAt: Date.now(),
    },
    issuer.id,
  );
}

export async function addMember(store: SqliteStore, issuer: Member, displayName = "peer"): Promise<Member> {
  const inv = await invite(store, issuer);
  const { member } = await store.claimInvite({ inviteId: inv.id, nowMs: Date.now(), member: { id: randomId(), pubkey: pubkey(), displayName }, claim: fakeClaim() });
  return member;
}

/** A direct message from `from` to `to` (mailbox keys), expiring in an hour unless told. */
export function directMessage(from: Member, to: string[], over: Partial<NewMessage> = {}): NewMessage {
  return {
    meshId: from.meshId,
    senderMemberId: from.id,
    senderPubkey: from.pubkey,
    senderName: from.displayName,
    clientMessageId: randomId(),
    kind: "direct",
    target: to[0] ?? "*",
    topic: null,
    topicId: null,
    priority: "next",
    replyTo: null,
    nonce: randomBytes(24).toString("base64"),
    ciphertext: randomBytes(16).toString("base64"),
    notice: null,
    expiresAt: Date.now() + 3_600_000,
    recipients: to,
    claimFor: new Map(),
    forNextSession: new Set(),
    undeliverable: [],
    ...over,
  };
}

export const count = (store: SqliteStore, table: string): number => store.db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n;

/** Sweeps until nothing more is due (each sweep is bounded: sweep.ts SWEEP_BATCH): the sums, and
 *  how many sweeps it took. */
export async function sweepAll(store: SqliteStore, nowMs: number, dedupWindowMs: number) {
  const total = { expiredRows: 0, expiredMessages: [] as StoredMessage[], deletedMessages: 0, seenSignatures: 0, sweeps: 0 };
  for (let more = true; more; total.sweeps++) {
    const r = await store.sweep(nowMs, dedupWindowMs);
    total.expiredRows += r.expiredRows;
    total.expiredMessages.push(...r.expiredMessages);
    total.deletedMessages += r.deletedMessages;
    total.seenSignatures += r.seenSignatures;
    more = r.more;
  }
  return total;
}

/** Commits `msgs` in batches of 500 (one transaction each, as the broker's group commit does). */
export async function commitAll(store: SqliteStore, msgs: NewMessage[]) {
  const out = [];
  for (let i = 0; i < msgs.length; i += 500) out.push(...(await store.commitSends(msgs.slice(i, i + 500), 0)));
  return out;
}
