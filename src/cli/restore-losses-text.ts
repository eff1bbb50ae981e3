// The lines `claudemesh admin restore` prints about what it undid (broker/restore-losses.ts): each
// kick, ban, key rotation, grant, invite revocation and invite used up of the replaced database
// that the backup does not hold, with the command that does it again.
import type { RestoreLosses } from "../broker/restore-losses.ts";
import { sanitize } from "../client/untrusted-text.ts";

/** Lines for `losses`, indented like the rest of the restore's result; none when nothing was
 *  replaced. */
export function lossLines(losses: RestoreLosses): string[] {
  if (losses === null) return [];
  if (!losses.comparable) {
    return [
      `  WARNING: the replaced database's audit log could not be read (${losses.why}), so what this restore undid is not known:`,
      "  kicks, bans, key rotations, grants and invites revoked or used up after the backup may be undone. Check each mesh's `claudemesh audit log` against what its owner did.",
    ];
  }
  if (losses.meshes.length === 0) return ["  the backup holds all of the replaced database's audit log: no kick, ban, key rotation or grant was undone"];
  const out = ["", "UNDONE by this restore (in the replaced database's audit log, not in the backup); do them again:"];
  for (const m of losses.meshes) {
    if (m.gone) {
      out.push(`  mesh ${m.slug}: not in the backup at all; it is gone, with its ${m.others} audit entries`);
      continue;
    }
    out.push(`  mesh ${m.slug} (id ${m.meshId}):`);
    // Names in `what` and `who` come quoted and escaped (restore-losses.ts); sanitize also defuses
    // tag-like text in them, as for every name shown (quotedName).
    for (const e of m.entries) {
      out.push(`    #${e.seq} ${e.createdAt} ${e.eventType}: ${sanitize(e.what)}`);
      if (e.redo) out.push(`      ${sanitize(e.who ?? "")}: ${e.redo}`);
    }
    if (m.others > 0) out.push(`    and ${m.others} other ${m.others === 1 ? "entry" : "entries"} (members joined, invites or topics created after the backup): members who joined since must join again with a new invite`);
  }
  return out;
}
