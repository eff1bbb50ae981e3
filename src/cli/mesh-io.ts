// Glue between a joined mesh in the local config and a MeshSession: keys that arrive are saved,
// read messages are logged, the replay memory persists between runs.
import { MeshSession, type Delivered, type Opened } from "../client/mesh-session.ts";
import { addMeshKeys, type MeshEntry } from "../client/local/config-file.ts";
import { appendMessages } from "../client/local/message-log.ts";
import { loadReplayGuard, saveReplayGuard } from "../client/local/replay-memory.ts";
import type { BrokerClient } from "../client/client.ts";
import type { PeerInfo } from "../protocol/results.ts";
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import { namesPeer, peerLabel, resolveTarget, type Resolved } from "../client/resolve.ts";
import { MeshError } from "../protocol/errors.ts";
import type { Ctx } from "./context.ts";
import type { PeerWhere } from "../client/name-hints.ts";
import { unknownPeer } from "./peer-elsewhere.ts";
import { resolveNarrowly } from "../client/lookups.ts";
import { keysAskedOnDisk } from "../client/local/keys-asked.ts";

export function sessionFor(ctx: Ctx, mesh: MeshEntry): MeshSession {
  return new MeshSession(
    { meshId: mesh.meshId, publicKey: mesh.publicKey, secretKey: mesh.secretKey, memberPubkey: mesh.publicKey, memberSecretKey: mesh.secretKey, ownerPubkey: mesh.ownerPubkey },
    mesh.meshKeys,
    {
      replay: loadReplayGuard(ctx.env.configDir, mesh.meshId, (note) => ctx.out.warn(note)),
      removals: () => mesh.removed,
      keysAsked: keysAskedOnDisk(ctx.env.configDir, mesh.meshId, (err) => ctx.debug(`key request not noted in the config: ${(err as Error).message}`)),
      onKeys: (meshKeys) => {
        ctx.update(addMeshKeys(mesh.meshId, meshKeys));
        ctx.out.note(`Received mesh keys (epoch ${meshKeys.at(-1)?.epoch}).`);
      },
    },
  );
}

/** `sealed`: the pushes counted in `waiting` (under a key epoch not held yet), for a reader that
 *  stays (inbox --follow) to open again once the keys came on the same connection. */
type ReadResult = { read: Delivered[]; dropped: { messageId: string; reason: string }[]; waiting: number; sealed: MessagePushFrame[] };

export type Batch = ReadResult & {
  /** Ids to ack whatever is shown: dropped messages and control messages. */
  ack: string[];
  /** Control messages (mesh keys, key requests): applied, never shown, recorded as seen. */
  handled: Delivered[];
  /** Key requests (answered by the owner's inbox; also among `handled`). */
  keyRequests: Delivered[];
};

/** Opens a batch of pushes without recording any as seen: recordRead does, for what was shown.
 *  The caller has run `session.learnSenders` over them, so a direct message from a member key not
 *  enrolled by the owner's signatures opens marked `untraced`.
 *  Messages whose key epoch has not arrived yet are only counted (`waiting`): not acked, they wait
 *  for the keys. `seen`, shared by the batches of one read, drops a message repeated within it,
 *  which the replay memory does not know before it is recorded: the same messageId again without
 *  a word (the broker handed out one message twice, which no honest broker does within a read),
 *  another messageId for the same sender and id as a repeat (`replayed`). */
export function openBatch(session: MeshSession, pushes: readonly MessagePushFrame[], seen = new Set<string>()): Batch {
  const b: Batch = { read: [], dropped: [], waiting: 0, sealed: [], ack: [], handled: [], keyRequests: [] };
  const drop = (messageId: string, reason: string) => {
    b.dropped.push({ messageId, reason });
    b.ack.push(messageId);
  };
  for (const m of pushes) {
    // Message ids hold no "|", so they cannot collide with the sender|id pairs in the same set.
    if (seen.has(m.messageId)) continue;
    seen.add(m.messageId);
    const r: Opened = session.open(m, { record: false, sendersRead: true });
    if (!r.ok) {
      if (r.reason === "unknown_epoch") (b.waiting++, b.sealed.push(m));
      else drop(m.messageId, r.reason);
      continue;
    }
    const pair = `${r.message.from.pubkey}|${r.message.clientMessageId}`;
    if (seen.has(pair)) {
      drop(m.messageId, "replayed");
      continue;
    }
    seen.add(pair);
    if (r.control === null) b.read.push(r.message);
    else {
      b.handled.push(r.message);
      b.ack.push(m.messageId);
      if (r.control === "key_request") b.keyRequests.push(r.message);
    }
  }
  return b;
}

/** Logs messages that were shown and records them, with the batch's `handled` control messages,
 *  in the replay memory, which then drops their redelivery; call before acking them. What could
 *  not be added to the machine's memory (for new sessions) is warned of, and added next time. */
export function recordRead(ctx: Ctx, session: MeshSession, read: readonly Delivered[], handled: readonly Delivered[] = []): void {
  for (const m of [...read, ...handled]) session.recordSeen(m);
  appendMessages(ctx.env.configDir, session.id.meshId, read);
  saveReplayGuard(ctx.env.configDir, session.replay, (err) => ctx.out.warn(`${(err as Error).message} A Claude Code session started now would not know yet that you read these.`));
}

/** Resolves a name, key prefix, #topic, @group or * in `mesh` (asks its broker for the peers it
 *  could name: resolveNarrowly; the whole list when that cannot settle it). The member's own
 *  identities match a name only when it is exactly theirs alone (resolveTarget). A name that
 *  matches nobody is refused (exit 4) naming the mesh searched when several are joined, with a
 *  former member it names, the other meshes of the user's where a peer has it (reached by
 *  `naming`: send's "slug:name", or --mesh), else the nearest name (unknownPeer). `peers`: those
 *  read, the resolved one among them. */
export async function resolve(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, input: string, naming: PeerWhere["naming"] = "flag"): Promise<Resolved & { peers?: PeerInfo[] }> {
  if (!namesPeer(input)) return resolveTarget(input, []);
  const narrow = await resolveNarrowly(client, input, (peers) => resolveTarget(input, peers, mesh.publicKey));
  if (narrow) return narrow;
  const { peers } = await client.request("list_peers", {});
  try {
    return { ...resolveTarget(input, peers, mesh.publicKey), peers };
  } catch (err) {
    throw await unknownPeer(ctx, mesh, client, err, input, peers, naming);
  }
}

/** Refuses, before anything is changed, a command aimed at one of the caller's own identities (its
 *  member key `self`, or a session of it): `reason` says why that makes no sense, `next` what to
 *  do instead. */
export function refuseSelf(peer: Pick<PeerInfo, "displayName" | "pubkey" | "memberPubkey" | "kind">, self: string, reason: string, next = ""): void {
  if (peer.memberPubkey !== self) return;
  const who = peer.kind === "session" ? "one of your own sessions" : "you";
  throw new MeshError("invalid_argument", `${peerLabel(peer)} is ${who}: ${reason}. Nothing was changed.${next ? ` ${next}` : ""}`);
}

/** A message's sender named as peerLabel names a peer (the key it signed or sealed with). */
export const senderLabel = (from: Delivered["from"]): string => peerLabel({ displayName: from.name, pubkey: from.pubkey });
