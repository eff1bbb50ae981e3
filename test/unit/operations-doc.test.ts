// docs/operations.md lists every setting with its flag, environment variable, default and range, and
// every metric the broker registers.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SETTINGS, defaultText, envName, flagName, formatDurationMs, type Setting } from "../../src/config/spec.ts";
import { createMetrics } from "../../src/broker/metrics.ts";
import { banner } from "../../src/cli/serve-banner.ts";
import { COMMAND_TREE } from "../../src/cli/root.ts";
import { commandAt } from "../../src/cli/usage.ts";
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

// The SIGHUP column says what a reload does with a new value in the config file, as spec.ts has it
// (`live`: put in force at once; `restart`: named as waiting for a restart).
test("every setting's SIGHUP column is written as spec.ts has it", () => {
  const cell = (key: string) => doc.split("\n").find((line) => line.startsWith(`| \`${key}\` |`))?.split("|")[6]?.trim();
  const differ = SETTINGS.map((s) => ({ key: s.key, doc: cell(s.key), spec: s.sighup })).filter((r) => r.doc !== r.spec);
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

// The docs point at metrics by name, and at their labels ("Troubleshooting by symptom", the alerts
// and panels they suggest, README's grants line): one renamed since, or a label it never had,
// would send an operator looking for a series that is not there. Every `broker_…` name in README
// and the operator docs is one the broker registers (prom-client's process and runtime series
// included, as /metrics serves them), and every label a mention gives (`{kind="message"}`,
// `{reason,limit}`) is one that series has. `broker_meta` is a table, not a series.
test("every metric and label the docs name is one the broker registers", async () => {
  const section = doc.slice(doc.indexOf("## Troubleshooting by symptom"), doc.indexOf("## Uninstalling"));
  expect(section).toContain("**A member never got a message.**");
  const m = createMetrics();
  const labels = new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, new Set((m.registry.getSingleMetric(x.name) as unknown as { labelNames?: string[] })?.labelNames ?? [])]));
  const root = resolve(import.meta.dir, "../..");
  const files = ["README.md", "docs/operations.md", "docs/dashboard.md", "docs/security.md", "docs/claude-code.md"];
  const named = files.flatMap((f) => [...readFileSync(resolve(root, f), "utf8").matchAll(/`(broker_[a-z0-9_]+)(\{[^}`]*\})?/g)].map((x) => ({ f, name: x[1]!, labels: x[2] })));
  expect(named.filter((n) => n.f === "docs/operations.md").length).toBeGreaterThan(30);
  const series = (name: string) => name.replace(/_(bucket|sum|count)$/, "");
  const problems = named.flatMap(({ f, name, labels: given }) => {
    if (name === "broker_meta" || /^broker_(process|nodejs)_$/.test(name)) return []; // a table; the prefixes' own mention
    const has = labels.get(series(name)) ?? labels.get(name);
    if (!has) return [`${f}: ${name} is not registered`];
    const asked = given ? [...given.slice(1, -1).matchAll(/([a-z_]+)\s*(?:[=!]~?"[^"]*"|,|$)/g)].map((x) => x[1]!) : [];
    return asked.filter((l) => !has.has(l) && l !== "le").map((l) => `${f}: ${name} has no label ${l}`);
  });
  expect(problems).toEqual([]);
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

// Every `claudemesh …` command line README and docs/ quote (decisions.md aside: a record of what
// was), as a code block's line or an inline code span joined across the prose's line breaks,
// names options its command has: a flag
// renamed since (or never there) would fail as an unknown option when pasted. Read from the
// command tree (src/cli/root.ts), which `--help` prints.
test("every option a quoted claudemesh command line gives is one its command has", () => {
  const root = resolve(import.meta.dir, "../..");
  const problems = ["README.md", "docs/operations.md", "docs/claude-code.md", "docs/dashboard.md", "docs/security.md", "docs/protocol.md", "docs/benchmarks.md"].flatMap((file) =>
    codeSpans(readFileSync(resolve(root, file), "utf8")).flatMap((span) =>
      commandLines(span).flatMap(({ words, options }) => {
        const { path, cmd } = commandAt(COMMAND_TREE as never, words);
        const known = new Set([...Object.keys(cmd.args ?? {}), "help"]);
        return options.filter((o) => !known.has(o)).map((o) => `${file}: claudemesh ${path.join(" ")} has no --${o} (in \`${span}\`)`);
      }),
    ),
  );
  expect(problems).toEqual([]);
});

/** The text of each inline code span (with the prose's line breaks as spaces) and each line of a
 *  fenced code block. */
function codeSpans(md: string): string[] {
  const spans: string[] = [];
  // Fences indented under a list item too: left in the prose, their backticks would pair wrongly.
  const prose = md.replace(/^ *```[^\n]*\n([\s\S]*?)^ *```$/gm, (_, body: string) => (spans.push(...body.split("\n")), ""));
  const flat = prose.replace(/\n/g, " ");
  for (const m of flat.matchAll(/``(.+?)``|`([^`]+)`/g)) spans.push(m[1] ?? m[2]!);
  return spans;
}

/** Each `claudemesh <command words> …` in `span`: the words after the executable (up to a shell
 *  operator, a comment, `--` or the next claudemesh) and the long options among them, by name. */
function commandLines(span: string): { words: string[]; options: string[] }[] {
  const tokens = span.split(/\s+/);
  const out: { words: string[]; options: string[] }[] = [];
  tokens.forEach((t, i) => {
    if (!/(^|[/(])claudemesh$/.test(t)) return;
    const words: string[] = [];
    for (const w of tokens.slice(i + 1)) {
      if (/^(--|\||&&|\|\||;|#|>|2>|<)$/.test(w) || /(^|\/)claudemesh$/.test(w)) break;
      words.push(w);
    }
    const { path } = commandAt(COMMAND_TREE as never, words);
    if (path.length === 0) return;
    // A synopsis brackets its options (`[--force]`); prose ends them with punctuation.
    out.push({ words, options: words.flatMap((w) => /^\[?--([a-z][a-z-]*)(=|[\]),.;:]*$)/.exec(w)?.[1] ?? []) });
  });
  return out;
}
