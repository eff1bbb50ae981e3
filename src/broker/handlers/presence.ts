// Presence requests: peers, status, summary, attestation refresh, ending a session.
import { MeshError } from "../../protocol/errors.ts";
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { Status } from "../../protocol/fields.ts";
import type { PeerInfo, Results } from "../../protocol/results.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import type { Presence } from "../hub.ts";
import { checkAttestation } from "../auth.ts";
import { nextStatus, type StatusSource } from "../gating.ts";
import { wake } from "../delivery.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { peerInfo, peerRows } from "../peer-rows.ts";

function presenceOf(ctx: BrokerContext, conn: Conn): Presence {
  const id = conn.identity!;
  const p = ctx.hub.get(id.meshId, id.pubkey);
  if (!p) throw new MeshError("internal", "presence missing for a ready connection");
  return p;
}

/** Status changes applied to each presence so far: a change the store refused is undone only if
 *  none came after it. */
const changes = new WeakMap<Presence, number>();

/** Applies a status change from the socket (manual) or a hook; persists, notifies, releases held
 *  messages. When the store refuses the write it rejects with that error and the status and summary
 *  are what they were (messages released meanwhile stay delivered). */
export async function applyStatus(ctx: BrokerContext, p: Presence, requested: Status, source: StatusSource, summary?: string): Promise<Status> {
  const status = nextStatus(p.status, requested, source);
  const change = (changes.get(p) ?? 0) + 1;
  changes.set(p, change);
  const before = { status: p.status, summary: p.summary };
  const after = { status, summary: summary ?? p.summary };
  // The in-memory status gates delivery, so it takes effect now, release included: a send that
  // arrived while the store write below waited for the disk saw "idle" with no backlog and was
  // pushed before the messages held until then. Storing it only carries it across reconnects.
  set(ctx, p, after, before);
  if (status === "idle") wake(ctx, p);
  try {
    await ctx.store.setPresence(p.identity.meshId, p.identity.pubkey, { status, ...(summary !== undefined ? { summary } : {}) });
  } catch (err) {
    // Not stored (a full disk, an I/O error): undone here too, or peers would go on seeing, and
    // delivery go on gating by, a status the caller was told failed and a restart would not have.
    // Unless a later change came meanwhile (even to the same values), which is its own to keep
    // or undo.
    if (changes.get(p) === change) set(ctx, p, before, after);
    throw err;
  }
  return status;
}

type Shown = { status: Status; summary: string };

/** Sets `p`'s status and summary to `to`, and tells its peers if that differs from `from`. */
function set(ctx: BrokerContext, p: Presence, to: Shown, from: Shown): void {
  p.status = to.status;
  p.summary = to.summary;
  ctx.hub.changed();
  if (to.status !== from.status || to.summary !== from.summary) ctx.hub.emit(p.identity.meshId, "peer_status", { pubkey: p.identity.pubkey, displayName: p.identity.displayName, ...to }, p.key);
}

export async function handleSetStatus(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"set_status">): Promise<Results["set_status"]> {
  const p = presenceOf(ctx, conn);
  const status = await applyStatus(ctx, p, f.status, "manual");
  const released = status === "idle" ? await ctx.store.pendingCount(p.identity.meshId, [p.identity.pubkey]) : 0;
  return { status, released };
}

export async function handleSetSummary(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"set_summary">): Promise<Results["set_summary"]> {
  const p = presenceOf(ctx, conn);
  await applyStatus(ctx, p, p.status, "manual", f.summary);
  return { summary: f.summary };
}

export async function handleListPeers(ctx: BrokerContext, conn: Conn): Promise<Results["list_peers"]> {
  const meshId = conn.identity!.meshId;
  const [roster, groups] = await Promise.all([ctx.roster.get(meshId), ctx.store.meshMemberGroups(meshId)]);
  const peers: PeerInfo[] = [];
  for (const p of peerRows(roster)) peers.push(peerInfo(ctx, meshId, p, groups.get(p.kind === "member" ? p.row.id : p.member.id) ?? []));
  return { peers };
}

export async function handleAttest(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"attest">): Promise<Results["attest"]> {
  const id = conn.identity!;
  if (id.kind !== "session") throw new MeshError("invalid_argument", "Only session connections carry an attestation.");
  checkAttestation(f.attestation, id.memberPubkey, id.pubkey, ctx.now());
  // Stored first, kept for list_peers once the session is offline (the roster reads its row again
  // when it leaves): one the store refused is not shown live either, as the session was told it failed.
  await ctx.store.setSessionAttestation(id.meshId, id.pubkey, f.attestation);
  id.attestation = f.attestation;
  return { expiresAt: f.attestation.expiresAt };
}

/** The session is over for good (Claude Code's SessionEnd): retire its mailbox and leave now. */
export async function handleSessionEnd(ctx: BrokerContext, conn: Conn): Promise<Results["session_end"]> {
  const id = conn.identity!;
  if (id.kind !== "session") throw new MeshError("invalid_argument", "Only a session connection can end its session.");
  await ctx.writes.barrier(); // its acks first: what the session acked is not given back
  await ctx.store.endSession(id.meshId, id.pubkey, ctx.now());
  ctx.roster.dropSession(id.meshId, id.pubkey);
  const p = ctx.hub.get(id.meshId, id.pubkey);
  setTimeout(() => {
    for (const c of p?.conns ?? []) c.close(CloseCode.sessionEnded, "session_ended");
    if (p) ctx.hub.remove(p);
  }, 0);
  return { ended: true };
}
