// A tool's reads of one mesh end with the connection they were asked on. The client library keeps
// a read in flight at a drop and asks it again on the next connection (request-table.ts), which
// the CLI relies on; but a tool call that raced the drop would then wait for a reconnect until its
// request timeout (15 s), while the tools promise to answer at once that the mesh is reconnecting.
// So a read asked through here settles with the link's "not connected" error as soon as the link
// leaves "open"; the client's own copy of the request may still be answered later, unheard.
// Sends do not go through here: a `send` is asked again with its client message id, and its
// outcome matters to the caller.
import type { MeshError } from "../protocol/errors.ts";

export class OpenReads {
  /** The readers waiting on the current connection, each stopped with the error when it ends. */
  private readonly waiting = new Set<(err: MeshError) => void>();

  /** `isOpen`: whether the link is open now. `whyNot`: the error a tool gives for the link's
   *  state when it is not (notOpen in mesh-link.ts). */
  constructor(
    private readonly isOpen: () => boolean,
    private readonly whyNot: () => MeshError,
  ) {}

  /** The link left "open" (dropped, closed for good): every read in flight settles with why. */
  left(): void {
    const err = this.whyNot();
    for (const stop of [...this.waiting]) stop(err);
    this.waiting.clear();
  }

  /** Runs `read` (one or more broker reads) if the link is open, and resolves with its result; or
   *  rejects with the link's error at once if it is not open, or as soon as it leaves "open"
   *  before `read` settles. The caller handles the rejection as it would the read's own. */
  run<T>(read: () => Promise<T>): Promise<T> {
    if (!this.isOpen()) return Promise.reject(this.whyNot());
    const asked = read();
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      asked.then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }
}
