// Fitting a list into a character budget (a hook's additionalContext, a tool result): the items
// are taken in order, and what does not fit is counted by the caller, never skipped over.

type Fitted<T> = {
  /** The items taken, a leading run of those given. */
  taken: T[];
  /** Their renderings, in order. */
  texts: string[];
  /** The length of `texts` joined with a separator of `gap` characters. */
  used: number;
};

/** The longest leading run of `items` whose renderings, joined with a separator of `gap`
 *  characters (the caller's join), fit in `budget` characters while `reserve(n)` characters stay
 *  free when n items are taken (room for a line counting the rest, its separator included).
 *  Stops at the first item that does not fit. `atLeastOne`: the first item is taken even alone
 *  over the budget (a list that must show something). Each item is rendered only when reached. */
export function fitInBudget<T>(items: Iterable<T>, render: (item: T) => string, budget: number, opts: { gap: number; reserve?: (taken: number) => number; atLeastOne?: boolean }): Fitted<T> {
  const out: Fitted<T> = { taken: [], texts: [], used: 0 };
  for (const item of items) {
    const text = render(item);
    const first = out.taken.length === 0;
    const used = out.used + (first ? 0 : opts.gap) + text.length;
    if (!(first && opts.atLeastOne) && used + (opts.reserve?.(out.taken.length + 1) ?? 0) > budget) break;
    out.taken.push(item);
    out.texts.push(text);
    out.used = used;
  }
  return out;
}
