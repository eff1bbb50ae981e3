// Acks that wait for the replay file. The replay memory remembers the (sender, client message id)
// pairs a session has seen, so that a message redelivered or replayed after a restart is dropped
// instead of shown twice; a seen message is acked to the broker only *after* the write that
// records it.
import type { MeshSession } from "../client/mesh-session.ts";
import type { Pending } from "./mesh-link.ts";

/** Longest the replay file may lag the memory: every message seen within this window is saved by
 *  one write (a burst read through mesh_inbox or a hook no longer rewrites the file per message).
 *
 *  What a crash can lose, and why that is safe: a crash (SIGKILL, power loss) inside the window
 *  loses records only of messages whose acks were not sent either: the broker still holds them and
 *  redelivers them, and the model sees those (at most REPLAY_FLUSH_MS worth) a second time —
 *  at-least-once, as the protocol promises; nothing is lost. Every pair the broker was told is done
 *  is on disk, so a broker replaying an acked message is still caught. A clean exit (stdin closed,
 *  SIGTERM, SIGINT, session end) writes at once (flush). */
export const REPLAY_FLUSH_MS = 250;

export class SeenWriter {
  /** Seen since the last write; their acks wait for that write. */
  private unsaved = { dirty: false, acks: [] as string[] };
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly session: MeshSession,
    /** Writes the replay file; a failure is reported by throwing. */
    private readonly save: () => void,
    private readonly ack: (ids: string[]) => void,
    private readonly onSaveError: (err: unknown) => void,
  ) {}

  /** Records `ms` in the replay memory now, and schedules the file write after which `acks` go out. */
  record(ms: readonly Pick<Pending, "from" | "clientMessageId">[], acks: readonly string[] = []): void {
    for (const m of ms) this.session.recordSeen(m);
    this.unsaved.dirty ||= ms.length > 0;
    this.unsaved.acks.push(...acks);
    this.timer ??= setTimeout(() => this.flush(), REPLAY_FLUSH_MS);
  }

  /** Something else the replay file holds changed (a reply shown, shown-replies.ts): it is
   *  written with the next write, which is scheduled. */
  changed(): void {
    this.unsaved.dirty = true;
    this.timer ??= setTimeout(() => this.flush(), REPLAY_FLUSH_MS);
  }

  /** Writes the replay file if anything was recorded since the last write, then sends the acks
   *  that waited for it. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const { dirty, acks } = this.unsaved;
    this.unsaved = { dirty: false, acks: [] };
    if (dirty) {
      try {
        this.save();
      } catch (err) {
        // Acked anyway: holding the acks back would only make the broker redeliver messages that
        // the memory (still intact in this process) drops as replays.
        this.onSaveError(err);
      }
    }
    if (acks.length) this.ack(acks);
  }
}
