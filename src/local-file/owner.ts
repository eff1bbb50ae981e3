// Who owns what claudemesh makes when it runs as root. One rule for every command: a file or
// directory claudemesh makes takes the owner of the directory it is made in. Under systemd the
// broker runs as its own user and its data directory is that user's, so `sudo claudemesh admin
// backup` must not leave a root-owned backups/ that the service's own nightly backup, or the
// backup taken before a migration, can no longer write in. `serve` itself does not run as root on
// another user's directory (the files SQLite makes while it runs would be root's): otherUser says
// whose the directory is, for its refusal.
import { lchownSync, lstatSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Whether this process runs as root (false where there are no uids). */
export const runsAsRoot = () => process.getuid?.() === 0;

/** As root: gives each of `paths` that exists and root owns to the owner of the directory holding
 *  it (or of `ownerDir`), when that is another user. In order, so a directory given first passes its owner on to what
 *  was made inside it. A symbolic link is left as it is: claudemesh makes none, so root's is one
 *  root made (a `claudemesh.db` linking to the database on another disk, which `admin restore`
 *  run as root follows only while root owns it: restore-target.ts). Does nothing for any other
 *  user (who cannot give files away). Throws the file system's error (a read-only file system). */
export function giveToDirOwner(paths: readonly string[], ownerDir?: string): void {
  if (!runsAsRoot()) return;
  for (const path of paths) {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || st.uid !== 0 || st.isSymbolicLink()) continue;
    const dir = statSync(ownerDir ?? dirname(path));
    if (dir.uid !== 0) lchownSync(path, dir.uid, dir.gid);
  }
}

/** The fix for a directory of the broker's (backups/) that this user may not write in because a
 *  command run as root made it: the chown that gives it back (run as root), then `then`. */
export function giveBackFix(dir: string, then: string): string {
  const me = process.getuid?.();
  const give = me === undefined ? `give ${dir} to the user that runs the broker` : `chown -R ${me}:${process.getgid?.()} ${dir} (as root), so that the user that runs the broker can write in it`;
  return `${give}, then ${then}`;
}

export type OtherUser = { uid: number; gid: number; name: string | null };

/** As root, the user `dir` belongs to when that is another user (null otherwise, and when `dir`
 *  does not exist yet). */
export function otherUser(dir: string): OtherUser | null {
  if (!runsAsRoot()) return null;
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st || st.uid === 0) return null;
  return { uid: st.uid, gid: st.gid, name: userName(st.uid) };
}

/** How sudo names the user: its name, or `'#998'` for a uid without one. */
export const sudoUser = (u: OtherUser) => (u.name ? u.name : `'#${u.uid}'`);

/** The user name /etc/passwd gives `uid`, or null (no such entry, no such file). */
function userName(uid: number): string | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // macOS keeps users in Directory Services; the uid is enough for sudo.
  }
  return null;
}
