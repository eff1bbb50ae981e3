// Waiting for a broker that does not answer (restarting, or the network between): a call is made
// again, less and less often, while the page says so in place of the view.
import { ApiError } from "./api.ts";
import { h, show } from "./dom.ts";

/** First and longest wait between attempts. */
const FIRST_WAIT_MS = 2_000;
const LONGEST_WAIT_MS = 30_000;

/** Whether `err` says that nobody answered (no connection, or the broker or `claudemesh dashboard`
 *  in front of it is away or timed out), as opposed to an answer that refuses: the same call may
 *  succeed later unchanged. */
export const brokerAway = (err: unknown): boolean =>
  err instanceof TypeError || (err instanceof ApiError && (err.code === "unavailable" || err.code === "timeout" || [502, 503, 504].includes(err.status)));

/** The result of `attempt`, made again after 2 s and then less and less often (at most every
 *  30 s) for as long as it fails with an error `retry` accepts, each wait said in `root` as a
 *  status. Rejects with the first error `retry` does not accept. */
export async function untilAnswered<T>(root: HTMLElement, attempt: () => Promise<T>, retry: (err: unknown) => boolean): Promise<T> {
  for (let waitMs = FIRST_WAIT_MS; ; waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS)) {
    try {
      return await attempt();
    } catch (err) {
      if (!retry(err)) throw err;
      show(root, h("p", { class: "error", role: "status", "data-testid": "boot-error", text: `${(err as Error).message} This page tries again every ${Math.round(waitMs / 1000)} s.` }));
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
