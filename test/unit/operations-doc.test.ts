// docs/operations.md lists every setting with its flag, environment variable, default and range, and
// every metric the broker registers.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SETTINGS, defaultText, envName, flagName, formatDurationMs, type Setting } from "../../src/config/spec.ts";
import { createMetrics } from "../../src/broker/metrics.ts";
import { banner } from "../../src/cli/serve-banner.ts";
import { defaultDataDir, loadBrokerConfig, processEnv } from "../../src/config/load.ts";

const doc = readFileSync(resolve(import.meta.dir, "../../docs/operations.md"), "utf8");

test("every setting has a row with its flag and environment variable", () => {
  const missing = SETTINGS.filter((s) => !doc.split("\n").some((line) => line.startsWith(`| \`${s.key}\` | \`--${flagName(s.key)}\` | \`${envName(s.key)}\` |`)));
  expect(missing.map((s) => s.key)).toEqual([]);
});

// `serve --help` and the table say the same default in the same words (7d, not 604800000);
// "(see below)" and "(none)" are the table's words for a computed default and an empty list.
test("every setting's --help default is written as the table writes it", () => {
  const cell = (key: string) => doc.split("\n").find((line) => line.startsWith(`| \`${key}\` |`))?.split("|")[4]?.trim().replace(/`/g, "");
  const help: Record<string, string> = { "(see below)": "see docs", "(none)": "none" };
  const differ = SETTINGS.map((s) => ({ key: s.key, doc: cell(s.key), help: defaultText(s) })).filter((r) => (help[r.doc ?? ""] ?? r.doc) !== r.help);
  expect(differ).toEqual([]);
});

// The range column says what the config accepts: `1s`–`10m` for a duration, 1024–1048576 for an
// integer, nothing for the other kinds (their rules are in the text above the table).
test("every setting's range is written as spec.ts has it", () => {
  const cell = (key: string) => doc.split("\n").find((line) => line.startsWith(`| \`${key}\` |`))?.split(" | ")[4];
  const range = ({ kind: k }: Setting) => (k.type === "duration" ? `\`${formatDurationMs(k.min)}\`–\`${formatDurationMs(k.max)}\`` : k.type === "int" ? `${k.min}–${k.max}` : "");
  const differ = SETTINGS.map((s) => ({ key: s.key, doc: cell(s.key), spec: range(s) })).filter((r) => r.doc !== r.spec);
  expect(differ).toEqual([]);
});

test("every broker metric is documented", async () => {
  const m = createMetrics({ defaultMetrics: false });
  const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
  expect(names.length).toBeGreaterThan(10);
  expect(names.filter((n) => !doc.includes(`\`${n}`))).toEqual([]);
});

// A section link (the contents list, "see [First run](#first-run)", README's links into docs/)
// breaks silently when a heading is renamed: GitHub just scrolls to the top. Every `#anchor` in
// README.md and docs/*.md must name a heading of the file it points to, slugged as GitHub does.
test("every link to a section names a heading that exists", () => {
  const root = resolve(import.meta.dir, "../..");
  const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
  const anchors = (file: string) => new Set(readFileSync(file, "utf8").split("\n").flatMap((l) => (/^#{1,6} (.+)$/.exec(l) ? [slug(/^#{1,6} (.+)$/.exec(l)![1]!)] : [])));
  const sources = ["README.md", ...readdirSync(resolve(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  const broken = sources.flatMap((src) =>
    [...readFileSync(resolve(root, src), "utf8").matchAll(/\]\(([^)\s#]*\.md)?#([^)\s]+)\)/g)].flatMap(([link, path, anchor]) => {
      const target = path ? resolve(root, dirname(src), path) : resolve(root, src);
      return anchors(target).has(anchor!) ? [] : [`${src}: ${link}`];
    }),
  );
  expect(broken).toEqual([]);
});

// "Troubleshooting by symptom" points at metrics by name: one renamed since would send an operator
// looking for a series that is not there.
test("the troubleshooting section names only metrics the broker registers", async () => {
  const section = doc.slice(doc.indexOf("## Troubleshooting by symptom"), doc.indexOf("## Uninstalling"));
  expect(section).toContain("**A member never got a message.**");
  const m = createMetrics({ defaultMetrics: false });
  const names = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
  const named = [...section.matchAll(/`(broker_[a-z_]+)/g)].map((x) => x[1]!);
  expect(named.length).toBeGreaterThan(5);
  expect(named.filter((n) => !names.has(n))).toEqual([]);
});

// "First run" quotes the banner a first start prints, and its plain-HTTP warning: both changed
// with native TLS (session 36, "the operator's path walked again") while the quote stayed. The
// quote must be what src/cli/serve-banner.ts prints for the defaults (the data directory and the
// token aside, which are the reader's own).
test("the first-run banner and the plain-HTTP warning quoted in First run are what serve prints", () => {
  const dataDir = defaultDataDir(processEnv());
  const text = (host: string, first: boolean) =>
    banner(loadBrokerConfig({ flags: { host, port: 7900, dataDir } }), `http://${host}:7900`, first ? "cmo_…" : null).replaceAll(dataDir, "/home/me/.local/share/claudemesh");
  const block = /token, and prints this after the JSON `broker listening` line \(stderr\):\n\n```\n([\s\S]*?\n)```/.exec(doc)?.[1];
  expect(block).toBe(`${text("127.0.0.1", true)}\n`);
  const warning = text("0.0.0.0", false).split("\n").find((l) => l.startsWith("warning: "))!;
  expect(doc.replace(/\s+/g, " ")).toContain(`\`${warning}\``);
});
