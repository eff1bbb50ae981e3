// The tab bar as the WAI-ARIA tabs pattern has it, with manual activation: arrow keys, Home and End
// move focus among the tabs, and Enter or Space (a button's click) shows one. Activation is manual
// because each view reads from the broker: showing every tab an arrow passes over would fetch each
// and could land a slower, earlier view over the one wanted.

/** The next tab to focus for `key` from the one at `at` of `count` (wrapping), or null for a key
 *  the tab bar leaves alone. */
export function tabStep(key: string, at: number, count: number): number | null {
  if (key === "ArrowRight" || key === "ArrowDown") return (at + 1) % count;
  if (key === "ArrowLeft" || key === "ArrowUp") return (at - 1 + count) % count;
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  return null;
}

/** Makes `nav` a tablist named `label` whose arrow, Home and End keys move focus among its tabs.
 *  Listens once on `nav`, so the tabs may be rebuilt at will. */
export function tabKeys(nav: HTMLElement, label: string): void {
  nav.setAttribute("role", "tablist");
  nav.setAttribute("aria-label", label);
  nav.addEventListener("keydown", (e) => {
    const tabs = [...nav.querySelectorAll<HTMLElement>('[role="tab"]')];
    const at = tabs.indexOf(document.activeElement as HTMLElement);
    const next = at < 0 || e.altKey || e.ctrlKey || e.metaKey ? null : tabStep(e.key, at, tabs.length);
    if (next === null) return;
    e.preventDefault(); // no page scroll on arrows, Home or End
    tabs[next]!.focus();
  });
}

/** Marks each tab of `nav` as (un)selected, the one of `selected` (a `data-view`) or none. One tab
 *  is in the Tab order: the selected one, else the first, so that a page where no view is shown
 *  yet (signed out) can still be reached from the keyboard. */
export function markTabs(nav: HTMLElement, selected: string | undefined): void {
  const tabs = [...nav.querySelectorAll<HTMLElement>('[role="tab"]')];
  const stop = tabs.find((t) => t.dataset.view === selected) ?? tabs[0];
  for (const t of tabs) {
    t.setAttribute("aria-selected", String(t.dataset.view === selected));
    t.tabIndex = t === stop ? 0 : -1;
  }
}
