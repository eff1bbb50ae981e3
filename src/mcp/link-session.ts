// The cryptographic side of one Claude Code session in one mesh: its session key (read from disk,
// or new), the member key's attestation of it, the credentials its hellos present, and the
// MeshSession that seals and opens its messages with the replay memory saved for this key.
import { SessionAttestor } from "../client/credentials.ts";
import { MeshSession } from "../client/mesh-session.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { openSessionMemory } from "../client/local/session-memory.ts";
import { ShownReplies } from "./shown-replies.ts";
import { ReplyTargets } from "./reply-targets.ts";
import { OpenAsks } from "./open-asks.ts";
import { pruneSessions, sessionKey } from "../client/local/session-keys.ts";
import { keysAskedOnDisk } from "../client/local/keys-asked.ts";
import type { Log } from "../log/log.ts";

/** The session of `claudeSessionId` in `entry`'s mesh. `removals`: the members the config on disk
 *  records as removed (read when a message is opened). `save` writes a new key to disk (nothing
 *  for one read from there); `remove` deletes it again if this process made it (else null);
 *  `touch` marks the key as used; `scope` names the key's replay memory, `memory`
 *  (session-memory.ts); `shownReplies` and `replyTargets` are what that memory
 *  holds of the replies the model was shown (shown-replies.ts) and of who sent the messages it was
 *  shown (reply-targets.ts), and `openAsks` of the peers' questions it has not answered
 *  (open-asks.ts). The keys and replay files of this mesh's sessions unused for SESSION_KEEP_MS
 *  are deleted then (pruneSessions). */
export function linkSession(entry: MeshEntry, o: { configDir: string; claudeSessionId: string; log: Log; removals: () => MeshEntry["removed"] }) {
  const { key, save, remove, touch } = sessionKey(o.configDir, entry.meshId, o.claudeSessionId);
  const scope = key.publicKey.slice(0, 16);
  const memory = openSessionMemory(o.configDir, entry.meshId, scope, (note) => o.log.warn(note, { mesh: entry.slug }));
  // After the memory opened: what a stopped reader left out of the machine's memory is in it
  // before that reader's file may go.
  pruneSessions(o.configDir, entry.meshId, scope);
  const memberKeys = { publicKey: entry.publicKey, secretKey: entry.secretKey };
  // One attestor for the hellos and for the copy sealed into every message sent: recipients
  // check it against each message's own time, so a message stays valid after it expires.
  const attestor = new SessionAttestor(memberKeys, key.publicKey);
  const credentials = { kind: "session" as const, meshId: entry.meshId, memberId: entry.memberId, memberKeys, sessionKeys: key, attestor };
  const session = new MeshSession(
    {
      meshId: entry.meshId,
      publicKey: key.publicKey,
      secretKey: key.secretKey,
      memberPubkey: entry.publicKey,
      memberSecretKey: entry.secretKey,
      ownerPubkey: entry.ownerPubkey,
      attestation: () => attestor.current(),
    },
    entry.meshKeys,
    {
      replay: memory.guard,
      removals: o.removals,
      keysAsked: keysAskedOnDisk(o.configDir, entry.meshId, (err) => o.log.warn("key request not noted in the config", { mesh: entry.slug, err })),
    },
  );
  // Per session, never merged: what this session's model was shown.
  const shownReplies = new ShownReplies(memory.extra("replies"));
  const replyTargets = new ReplyTargets(memory.extra("senders"));
  const openAsks = new OpenAsks(entry.slug, memory.extra("asks"));
  return { session, credentials, scope, save, remove, touch, memory, shownReplies, replyTargets, openAsks };
}
