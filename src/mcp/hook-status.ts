// The status Claude Code's hooks give a session (UserPromptSubmit: working, Stop: idle), passed on
// to the broker until it took it. A hook that runs while the connection is down, or whose post is
// refused (a broker draining, a hook token the restarted broker does not know), is said again at
// the next connect: a clean restart carries the session's presence over with its status
// (presence-carry.ts), so a Stop lost meanwhile left the session `working`, and its peers' `next`
// messages held, until the user's next prompt. Only a status not confirmed is said again: a post
// per session at every reconnect would be a status event to every peer of a mesh (N² frames).
// Except `working` to a new presence: one whose grace ran out while this process did not run (a
// laptop asleep) starts `idle` (the broker drops a stored `working` as the old process's), while
// this process, mid-turn, is still working; its peers heard it leave and join, and one event more.
import type { Status } from "../protocol/fields.ts";

export class HookStatus {
  /** The latest hook status the broker has not confirmed; null once it did. */
  private owed: Status | null = null;
  private posting: Promise<void> | null = null;
  /** The session's latest status, from a hook or from mesh_status (noted), confirmed or not. */
  private latest: Status | null = null;

  /** `post` sends a status now (null while not connected); `failed` hears a post that failed. */
  constructor(
    private readonly post: (status: Status) => Promise<unknown> | null,
    private readonly failed: (status: Status, err: unknown) => void,
  ) {}

  /** A hook's status: posted now if connected, else at the next connect. Resolves once this try
   *  is over (never rejects); posts go one at a time, the latest status last. */
  say(status: Status): Promise<void> {
    this.owed = this.latest = status;
    return this.flush();
  }

  /** The session set `status` itself (mesh_status) and the broker took it. */
  noted(status: Status): void {
    this.latest = status;
  }

  /** The connection (re)opened: a status the broker has not confirmed is posted again, and so is
   *  `working` when the broker made a new presence (`reattached` false), which starts `idle`. Said
   *  as a hook's change, which keeps a dnd stored meanwhile. */
  opened(reattached: boolean): void {
    if (!reattached && this.latest === "working") this.owed ??= "working";
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
