// An accessibility audit of what a page shows now: axe-core (the engine of browser accessibility
// checkers) from node_modules, so nothing is fetched, run over the whole document against WCAG 2.x
// A and AA and axe's best practices. It is evaluated through the DevTools protocol, not added as a
// <script> (addScriptTag): the dashboard's CSP refuses inline scripts, as it should. Returns the violations of impact serious or critical, one
// line per rule with the elements it names, so a failing test says what to fix.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";

const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

/** "rule (impact): help — selectors…" for each serious or critical violation on `page`. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
  }, TAGS);
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.join(", ")}`);
}
