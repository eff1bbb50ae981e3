// One view's redraws, one at a time. A view is drawn again on live events, on its timer, after the
// live stream comes back and after a post of its own; each draw reads from the broker and then
// draws. Two draws under way at once could land in either order, an older answer over a newer one,
// so a draw asked for while one is under way waits for it, and every ask made meanwhile shares
// that one next draw: the last draw always starts after the last ask, and draws never overlap.
// (Dropping the older draw instead would leave a view that redraws more often than the broker
// answers, the #general poll on a slow link, never drawn at all.)

/** A function that asks for `run`, which must not reject; it resolves once a run that started
 *  after this ask has ended. */
export function serialDraws(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> =>
    (running = run().finally(() => {
      running = null;
    }));
  return () => {
    if (!running) return start();
    return (next ??= running.then(() => {
      next = null;
      return start();
    }));
  };
}
