// The status Claude Code's hooks give a session (UserPromptSubmit: working, Stop: idle), passed on
// to the broker until it took it. A hook that runs while the connection is down, or whose post is
// refused (a broker draining, a hook token the restarted broker does not know), is said again at
// the next connect: a clean restart carries the session's presence over with its status
// (presence-carry.ts), so a Stop lost meanwhile left the session `working`, and its peers' `next`
// messages held, until the user's next prompt. Only a status not confirmed is said again: a post
// per session at every reconnect would be a status event to every peer of a mesh (N² frames).
import type { Status } from "../protocol/fields.ts";

export class HookStatus {
  /** The latest hook status the broker has not confirmed; null once it did. */
  private owed: Status | null = null;
  private posting: Promise<void> | null = null;

  /** `post` sends a status now (null while not connected); `failed` hears a post that failed. */
  constructor(
    private readonly post: (status: Status) => Promise<unknown> | null,
    private readonly failed: (status: Status, err: unknown) => void,
  ) {}

  /** A hook's status: posted now if connected, else at the next connect. Resolves once this try
   *  is over (never rejects); posts go one at a time, the latest status last. */
  say(status: Status): Promise<void> {
    this.owed = status;
    return this.flush();
  }

  /** The connection (re)opened: a status the broker has not confirmed is posted again. */
  opened(): void {
    if (this.owed !== null) void this.flush();
  }

  private flush(): Promise<void> {
    return (this.posting ??= this.run().finally(() => (this.posting = null)));
  }

  private async run(): Promise<void> {
    while (this.owed !== null) {
      const status = this.owed;
      const posted = this.post(status);
      if (!posted) return; // not connected: opened() posts it
      try {
        await posted;
      } catch (err) {
        this.failed(status, err);
        if (this.owed === status) return; // opened() posts it again
        continue; // a hook that ran during the post is tried now
      }
      // A hook that ran during the post is posted next.
      if (this.owed === status) this.owed = null;
    }
  }
}
