// Waiting on a condition that has no event to wait for (a CLI's output, a file, a count inside the
// broker): polled, with a deadline that names what was awaited.

/** Resolves once `check()` holds, polled every 25 ms; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}
