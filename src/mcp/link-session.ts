// The cryptographic side of one Claude Code session in one mesh: its session key (read from disk,
// or new), the member key's attestation of it, the credentials its hellos present, and the
// MeshSession that seals and opens its messages with the replay memory saved for this key.
import { SessionAttestor } from "../client/credentials.ts";
import { MeshSession } from "../client/mesh-session.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { loadReplayExtra, loadReplayGuard } from "../client/local/message-log.ts";
import { ShownReplies } from "./shown-replies.ts";
import { ReplyTargets } from "./reply-targets.ts";
import { OpenAsks } from "./open-asks.ts";
import { sessionKey } from "../client/local/session-keys.ts";
import type { Log } from "../log/log.ts";

/** The session of `claudeSessionId` in `entry`'s mesh. `removals`: the members the config on disk
 *  records as removed (read when a message is opened). `save` writes a new key to disk (nothing
 *  for one read from there); `remove` deletes it again if this process made it (else null);
 *  `scope` names the key's replay memory; `shownReplies` and `replyTargets` are what that memory
 *  holds of the replies the model was shown (shown-replies.ts) and of who sent the messages it was
 *  shown (reply-targets.ts), and `openAsks` of the peers' questions it has not answered
 *  (open-asks.ts). */
export function linkSession(entry: MeshEntry, o: { configDir: string; claudeSessionId: string; log: Log; removals: () => MeshEntry["removed"] }) {
  const { key, save, remove } = sessionKey(o.configDir, entry.meshId, o.claudeSessionId);
  const scope = key.publicKey.slice(0, 16);
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
      replay: loadReplayGuard(o.configDir, entry.meshId, scope, (note) => o.log.warn(note, { mesh: entry.slug })),
      removals: o.removals,
    },
  );
  // Read after the guard: a damaged file has been moved aside by then, and no replies are kept.
  const shownReplies = new ShownReplies(loadReplayExtra(o.configDir, entry.meshId, scope, "replies"));
  const replyTargets = new ReplyTargets(loadReplayExtra(o.configDir, entry.meshId, scope, "senders"));
  const openAsks = new OpenAsks(entry.slug, loadReplayExtra(o.configDir, entry.meshId, scope, "asks"));
  return { session, credentials, scope, save, remove, shownReplies, replyTargets, openAsks };
}
