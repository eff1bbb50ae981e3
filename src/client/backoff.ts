// Reconnect delays: exponential from 1 s, capped at 30 s, with full jitter so that a broker
// restart is not met by every client at the same instant.

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 30_000;

/** Delay before reconnect attempt `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(attempt: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  // Never below half the ceiling, so the schedule still grows.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
