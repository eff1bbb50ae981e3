// Small probes for the dashboard's accessibility tests: where the keyboard is, and the WCAG
// contrast ratio of two computed colours.
import type { Page } from "playwright-core";

/** The focused element as a short description: its test id, else role and name, else tag and id
 *  ("BODY" when focus was lost to the page). */
export const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    if (!a || a === document.body) return "BODY";
    if (a.dataset.testid) return a.dataset.testid;
    const role = a.getAttribute("role");
    if (role) return `${role}:${a.getAttribute("aria-label") ?? a.id}`;
    if (a.getAttribute("name")) return `${a.tagName.toLowerCase()}[name=${a.getAttribute("name")}]`;
    return `${a.tagName.toLowerCase()}#${a.id}`;
  });

/** "rgb(r, g, b)" (or rgba with alpha 1) as [r, g, b]; anything translucent throws, since its
 *  contrast depends on what is behind it. */
function rgb(css: string): [number, number, number] {
  const m = css.match(/[\d.]+/g)?.map(Number);
  if (!m || m.length < 3 || (m.length > 3 && m[3]! < 1)) throw new Error(`not an opaque colour: ${css}`);
  return [m[0]!, m[1]!, m[2]!];
}

const luminance = (c: [number, number, number]) => {
  const [r, g, b] = c.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};

/** The WCAG 2 contrast ratio of two opaque CSS colours, to two decimals. */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x) as [number, number];
  return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
}
