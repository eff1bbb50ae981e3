// Waiting for a broker that does not answer (restarting, or the network between), or that asks to
// be asked later (a rate limit, with Retry-After): a call is made again while the page says so in
// place of the view.
import { ApiError } from "./api.ts";
import { h, show } from "./dom.ts";

/** First and longest wait between attempts. */
const FIRST_WAIT_MS = 2_000;
const LONGEST_WAIT_MS = 30_000;
/** A Retry-After is followed between these (a broker's odd value neither spins nor stalls). */
const SHORTEST_RETRY_AFTER_MS = 1_000;
const LONGEST_RETRY_AFTER_MS = 60_000;

/** Whether `err` says that nobody answered (no connection, or the broker or `claudemesh dashboard`
 *  in front of it is away or timed out), as opposed to an answer that refuses: the same call may
 *  succeed later unchanged. */
export const brokerAway = (err: unknown): boolean =>
  err instanceof TypeError || (err instanceof ApiError && (err.code === "unavailable" || err.code === "timeout" || [502, 503, 504].includes(err.status)));

/** Whether `err` is the broker's throttle (429 `rate_limited`): the same call succeeds once its
 *  Retry-After has passed. */
export const throttled = (err: unknown): boolean => err instanceof ApiError && err.status === 429 && err.code === "rate_limited";

/** The result of `attempt`, made again for as long as it fails with an error `retry` accepts:
 *  after the answer's Retry-After when it has one, else after 2 s and then less and less often
 *  (at most every 30 s); each wait said in `root` as a status (see say). Rejects with the first error
 *  `retry` does not accept. */
export async function untilAnswered<T>(root: HTMLElement, attempt: () => Promise<T>, retry: (err: unknown) => boolean): Promise<T> {
  for (let backoffMs = FIRST_WAIT_MS; ; ) {
    try {
      return await attempt();
    } catch (err) {
      if (!retry(err)) throw err;
      const asked = err instanceof ApiError ? err.retryAfterMs : null;
      const waitMs = asked === null ? backoffMs : Math.min(Math.max(asked, SHORTEST_RETRY_AFTER_MS), LONGEST_RETRY_AFTER_MS);
      const when = asked === null ? `every ${Math.round(waitMs / 1000)} s` : `in ${Math.round(waitMs / 1000)} s`;
      say(root, `${(err as Error).message} This page tries again ${when}.`);
      await new Promise((r) => setTimeout(r, waitMs));
      if (asked === null) backoffMs = Math.min(backoffMs * 2, LONGEST_WAIT_MS);
    }
  }
}

/** Says `text` in `root`'s one status of these waits, which is put in place of what `root` shows
 *  the first time and kept after: a screen reader is told of a changed text in a status it knows,
 *  reliably, and is not told the same sentence again on each try. */
function say(root: HTMLElement, text: string): void {
  const status = root.querySelector<HTMLElement>('[data-testid="boot-error"]');
  if (status) {
    if (status.textContent !== text) status.textContent = text;
    return;
  }
  // Put in place empty, then said: a status that comes into the page already saying something
  // is not read out by every screen reader.
  const fresh = h("p", { class: "error", role: "status", "data-testid": "boot-error" });
  show(root, fresh);
  setTimeout(() => (fresh.textContent = text), STATUS_SETTLE_MS);
}

/** How long a new status is in the page, empty, before it says something. */
const STATUS_SETTLE_MS = 100;
