// A view is one tab: when it is shown, how it renders, and which live events make it refresh.
import type { LiveEvent } from "../lib/live.ts";
import type { PageState } from "../lib/types.ts";

export type View = {
  id: string;
  title: string;
  visible(state: PageState): boolean;
  /** Draws into `root` (replacing what is there). Errors are shown by the caller. `redraw` asks
   *  for the view to be drawn again in `root`, after any draw of it under way (never beside it:
   *  main.ts); it resolves once drawn. Calls render directly never: two draws would overlap. */
  render(root: HTMLElement, state: PageState, redraw: () => Promise<void>): Promise<void>;
  /** Live events after which the view is drawn again while it is shown. */
  refreshOn?: readonly LiveEvent["event"][];
  /** Redraw period while shown (charts), in ms. */
  pollMs?: number;
};
