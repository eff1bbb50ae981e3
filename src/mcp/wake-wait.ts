// How long the wake hook (`claudemesh hook wait`, Claude Code's asyncRewake Stop hook) waits for a
// message, and the timeout `claudemesh install` gives it: one place, so the two cannot drift.

/** The `timeout` (seconds) of the wake hook in settings.json: 24 days. Claude Code times a hook
 *  with one setTimeout of timeout × 1000 ms, and a longer delay than 2^31 − 1 ms (24 days 20 h 31 min)
 *  fires at once: Claude Code 2.1.197 SIGTERMed a hook with a timeout of 2,147,484 s 73 ms after
 *  it started, and kept one with 2,147,483 s. Nothing else bounds it: Claude Code kills the hook
 *  at this timeout, or at its own exit, never at a new prompt. */
export const WAKE_HOOK_TIMEOUT_S = 24 * 24 * 3600;

/** How long the wake hook waits for a message: until its session ends in practice (the hook ends
 *  when its Claude Code does, and a newer wake hook of the session replaces it), ending on its own
 *  5 minutes before Claude Code's timeout would kill it. */
export const WAKE_WAIT_MS = (WAKE_HOOK_TIMEOUT_S - 5 * 60) * 1000;
