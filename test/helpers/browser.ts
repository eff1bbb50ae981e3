// A real browser for dashboard tests: Debian's chromium (or CLAUDEMESH_CHROMIUM) driven by
// playwright-core, headless, with a fresh profile directory. Every request the page makes outside
// `origin` is recorded and aborted, and CSP violations and page errors are recorded, so a test can
// assert that the dashboard is self-contained. Screenshots go to test-artifacts/dashboard/.
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { scratchDir } from "../preload.ts";
import { join, resolve } from "node:path";

export const ARTIFACTS = resolve(import.meta.dir, "../../test-artifacts/dashboard");

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"];

export type TestBrowser = {
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to load from anywhere but `origin` (all were aborted). */
  outside: string[];
  /** Content-Security-Policy violations and uncaught page errors. */
  problems: string[];
  newPage(): Promise<Page>;
  shot(page: Page, name: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

export function chromiumPath(): string {
  const path = process.env.CLAUDEMESH_CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(path)) throw new Error(`No chromium at ${path}: install it (apt-get install -y chromium) or set CLAUDEMESH_CHROMIUM.`);
  return path;
}

/** @param opts.defaultFontSizePx the browser's default font size (its setting, not the page's). */
export async function launchBrowser(origin: string, opts: { defaultFontSizePx?: number } = {}): Promise<TestBrowser> {
  const profile = scratchDir("cm-chromium-");
  if (opts.defaultFontSizePx) {
    mkdirSync(join(profile, "Default"), { recursive: true });
    writeFileSync(join(profile, "Default", "Preferences"), JSON.stringify({ webkit: { webprefs: { default_font_size: opts.defaultFontSizePx } } }));
  }
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), args: ARGS, viewport: { width: 1280, height: 800 } });
  const outside: string[] = [];
  const problems: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url === origin) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const watch = (page: Page) => {
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
    });
    return page;
  };
  context.on("page", watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    outside,
    problems,
    newPage: () => context.newPage(),
    shot: async (p, name) => void (await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })),
    async [Symbol.asyncDispose]() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the dashboard's Operator tab with `token` and waits for the mesh `slug` in its list. */
export async function operatorSees(page: Page, token: string, slug: string): Promise<void> {
  await page.click('[data-testid="tab-operator"]');
  await page.fill('[data-testid="operator-token"]', token);
  await page.click("#view form button.primary");
  await page.locator('[data-testid="operator-mesh"]', { hasText: slug }).waitFor({ timeout: 10_000 });
}
