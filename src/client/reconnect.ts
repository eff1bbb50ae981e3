// A BrokerClient's reconnects (client.ts): which closes are tried again, after how long
// (exponential from 1 s, capped at 30 s, with jitter so that a broker restart is not met by every
// client at the same instant), and what a first connect that is not retried rejects with.
import { shouldReconnect } from "../protocol/close-codes.ts";
import { ERRORS, MeshError, isErrorCode } from "../protocol/errors.ts";
import { connectionFailed, goingAway } from "./broker-trouble.ts";
import { CloseCode } from "../protocol/close-codes.ts";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;

/** Delay before reconnect attempt `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  // Never below half the ceiling, so the schedule still grows.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Whether a socket closed with `code` and `reason` is opened again, when the caller `wanted` a
 *  reconnect: not after a terminal close or a refusal the catalog does not mark retryable. */
export function retriesClose(code: number, reason: string, wanted: boolean): boolean {
  // A clock skew is the client's to fix, but a clock that drifted (a laptop waking from sleep, a
  // VM) is usually set right within minutes: a client that keeps itself connected retries it at
  // its backoff instead of giving up for the rest of its life.
  // `replayed` too: two processes of one member key saying hello in the same millisecond (after a
  // broker restart, say) sign the same text, and the later is refused; its next hello, a moment
  // on, is not.
  return wanted && shouldReconnect(code, reason, (r) => isErrorCode(r) && (ERRORS[r].retryable || r === "timestamp_skew" || r === "replayed"));
}

/** What a first connect that closed for good rejects with: for an abnormal close (1006) why the
 *  socket failed (`failure`, else that the broker at `base` could not be reached); otherwise the
 *  close, in the broker's own words when its error frame (`refusal`) named the reason. */
export function connectRefusal(code: number, reason: string, refusal: MeshError | null, failure: MeshError | null, base: string): MeshError {
  if (code === 1006) return failure ?? connectionFailed(base);
  if (code === CloseCode.goingAway) return goingAway(base);
  const said = refusal?.code === reason ? refusal : null;
  const why = `Broker closed the connection (${code}${reason ? ` ${reason}` : ""}).`;
  if (!isErrorCode(reason)) return new MeshError("unavailable", why);
  return new MeshError(reason, `${why} ${(said ?? new MeshError(reason)).message}`, said ? { cause: said } : undefined);
}
