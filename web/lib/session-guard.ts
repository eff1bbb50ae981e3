// One member cookie per browser: a login in another tab (another mesh, or another member) takes it
// over, and ends the session this tab was opened with. A tab notices when the broker refuses a call
// that names the member it shows (lib/api.ts), or when its live stream comes back as someone
// else's; it then asks whom the cookie stands for now and, if that is another member, stops.
import { getAsCookie } from "./api.ts";
import type { StreamOwner } from "./live.ts";
import type { Me } from "./types.ts";

export type SessionGuard = {
  /** Asks the broker whom the cookie stands for; calls `onChanged` (once) if it is another member.
   *  Never rejects: no session at all is "session ended", which the views report. */
  check(): Promise<void>;
  /** Whether a live stream (its `ready`) is the shown member's; when not, check() runs. */
  isMine(owner: StreamOwner): boolean;
};

export function guardSession(me: Me, onChanged: (now: Me) => void): SessionGuard {
  let changed = false;
  let checking: Promise<void> | null = null;
  const check = () =>
    (checking ??= (async () => {
      try {
        const now = await getAsCookie<Me>("/v1/dashboard/me");
        if (!changed && (now.mesh.id !== me.mesh.id || now.member.memberId !== me.member.memberId)) {
          changed = true;
          onChanged(now);
        }
      } catch {
        // Signed out or expired: not a change of member.
      } finally {
        checking = null;
      }
    })());
  return {
    check,
    isMine(owner) {
      const mine = owner.meshId === me.mesh.id && owner.memberId === me.member.memberId;
      if (!mine) void check();
      return mine;
    },
  };
}
