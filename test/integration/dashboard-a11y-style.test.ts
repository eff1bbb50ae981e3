// What axe does not measure about the dashboard's look, in chromium (docs/dashboard.md
// "Accessibility"): the edges of text fields, dropdowns and buttons against what is behind them
// (WCAG 1.4.11, 3:1), the #general box's visible label and its placeholder's contrast (1.4.3,
// 4.5:1), light and dark; the selected tab in forced colours (Windows high contrast); text that
// follows the browser's default font size (1.4.4).
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { aliceAndBrowser, showTab } from "../helpers/dashboard-page.ts";
import { contrast } from "../helpers/a11y.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** For each element `selector` names: its border colour and the opaque background behind it. */
const edges = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) =>
    els.map((el) => {
      let up = el.parentElement;
      let behind = "rgb(255, 255, 255)";
      for (; up; up = up.parentElement) {
        const c = getComputedStyle(up).backgroundColor;
        if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") {
          behind = c;
          break;
        }
      }
      return { what: `${el.tagName.toLowerCase()}${el.getAttribute("name") ? `[${el.getAttribute("name")}]` : ""}`, border: getComputedStyle(el).borderTopColor, behind };
    }),
  );

test("text fields, dropdowns and buttons have edges of 3:1, the #general box a visible label and a readable placeholder, light and dark", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  const low: string[] = [];
  const found: Record<string, { label: string | null; shown: boolean; placeholderReadable: boolean }> = {};
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await showTab(page, "invites");
    for (const e of await edges(page, "#view input, #view select, #view button:not(.primary):not(.danger), #logout")) {
      if (contrast(e.border, e.behind) < 3) low.push(`${scheme} ${e.what}: ${e.border} on ${e.behind} = ${contrast(e.border, e.behind)}`);
    }
    await showTab(page, "chat");
    for (const e of await edges(page, sel("chat-input"))) if (contrast(e.border, e.behind) < 3) low.push(`${scheme} ${e.what}: ${contrast(e.border, e.behind)}`);
    const box = await page.locator(sel("chat-input")).evaluate((t: HTMLTextAreaElement) => ({
      label: t.labels?.[0]?.textContent?.trim() ?? null,
      shown: (t.labels?.[0]?.getBoundingClientRect().height ?? 0) > 0,
      placeholder: getComputedStyle(t, "::placeholder").color,
      fill: getComputedStyle(t).backgroundColor,
    }));
    found[scheme] = { label: box.label, shown: box.shown, placeholderReadable: contrast(box.placeholder, box.fill) >= 4.5 };
  }
  const box = { label: "Message #general", shown: true, placeholderReadable: true };
  expect({ low, found }).toEqual({ low: [], found: { light: box, dark: box } });
}, 60_000);

test("forced colours: the selected tab is told apart from the others, which show no underline", async () => {
  await using t = await aliceAndBrowser();
  const { page } = t;
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  await page.emulateMedia({ forcedColors: "active" });
  const tabs = await page.locator('[role="tab"]').evaluateAll((els) =>
    els.map((e) => ({ selected: e.getAttribute("aria-selected") === "true", line: getComputedStyle(e).borderBottomColor, behind: getComputedStyle(e.closest("nav")!).backgroundColor })),
  );
  const selected = tabs.find((x) => x.selected)!;
  const others = tabs.filter((x) => !x.selected);
  expect({
    selectedStandsOut: selected.line !== selected.behind,
    othersPlain: others.every((x) => x.line === x.behind),
  }).toEqual({ selectedStandsOut: true, othersPlain: true });
}, 60_000);

test("text follows the browser's default font size", async () => {
  await using t = await aliceAndBrowser({ defaultFontSizePx: 24 });
  const { page } = t;
  await page.goto(t.link);
  await page.locator(sel("count-members")).waitFor();
  const px = (s: string) => page.locator(s).first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  // At the usual 16 px default the page looks as it always did (14 px text, 12 px table headers,
  // 16 px headings, 22 px figures); at 24 px each is half again as large.
  expect({ td: await px("#view td"), th: await px("#view th"), h2: await px("#view h2"), figure: await px("#view .card .n") }).toEqual({ td: 21, th: 18, h2: 24, figure: 33 });
}, 60_000);
