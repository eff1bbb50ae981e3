// Medians across runs, as the Markdown tables of docs/benchmarks.md:
//   bun run bench/summarize.ts [--max-steal=PCT] [--max-foreign=PCT] RESULT_FILE...
// Each file holds the stdout of one `bun run bench` (its last line is the result JSON). This VM
// shares its host and its two CPUs with other work, so two filters can leave windows out:
// --max-steal drops a window in which hypervisor steal on CPU 0 or 1 exceeded PCT, and
// --max-foreign one in which other processes used more than PCT of CPU 0 (busy minus the
// server's own CPU) or of CPU 1 (busy minus the load generator's).
import { readFileSync } from "node:fs";
import { median, round } from "./stats.ts";

type Json = Record<string, any>;

const args = process.argv.slice(2);
const flag = (name: string) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? Infinity);
const maxSteal = flag("max-steal");
const maxForeign = flag("max-foreign");
const files = args.filter((a) => !a.startsWith("--"));
if (files.length === 0) {
  process.stderr.write("usage: bun run bench/summarize.ts [--max-steal=PCT] RESULT_FILE...\n");
  process.exit(2);
}
const runs: Json[] = files.map((f) => JSON.parse(readFileSync(f, "utf8").trim().split("\n").pop()!));

/** A window's result if it exists, succeeded and was not stolen from beyond maxSteal. */
function win(r: Json, server: string, key: string): Json | null {
  const w = r[server]?.[key];
  if (!w || typeof w !== "object" || "error" in w || "skipped" in w) return null;
  const steal = Math.max(0, ...Object.values((w.cpu_steal_pct ?? {}) as Record<string, number>));
  const busy = (w.cpu_busy_pct ?? {}) as Record<string, number>;
  // Drain windows carry no per-process split of CPU 1, so only steal filters them.
  const foreign = busy.cpu0 === undefined ? 0 : Math.max(busy.cpu0 - w.server_cpu_pct, (busy.cpu1 ?? 0) - w.client_cpu_pct);
  return steal <= maxSteal && foreign <= maxForeign ? w : null;
}
const med = (server: string, key: string, field: string) => median(runs.map((r) => Number(win(r, server, key)?.[field] ?? NaN)));
const n = (server: string, key: string) => runs.filter((r) => win(r, server, key) !== null).length;
const fmt = (x: number, digits = 0): string =>
  !Number.isFinite(x) ? "–" : digits && Math.abs(x) < 100 ? x.toFixed(digits) : Math.round(x).toLocaleString("en-US");

const lines: string[] = [];
const table = (head: string[], rows: string[][]) => lines.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`), "");

const SCENARIOS: [string, string][] = [
  ["closed_100", "closed loop, N=100"],
  ["closed_1000", "closed loop, N=1000"],
  ["rate_10k_1000", "10,000/s offered, N=1000"],
  ["rate_10k_100", "10,000/s offered, N=100"],
];
const filters = [
  Number.isFinite(maxSteal) ? `more than ${maxSteal}% steal on CPU 0 or 1` : "",
  Number.isFinite(maxForeign) ? `more than ${maxForeign}% of CPU 0 or 1 used by other processes` : "",
].filter(Boolean);
lines.push(`Medians over ${runs.length} runs (${runs.map((r) => r.mode).join(", ")})${filters.length ? `, leaving out windows with ${filters.join(" or ")}` : ""}; "n" counts the windows used (broker / raw).`, "");

for (const server of ["broker", "broker_normal"]) {
  if (!runs.some((r) => r[server])) continue;
  lines.push(`### ${server === "broker" ? "Broker, synchronous=full (default)" : "Broker, synchronous=normal"} vs raw relay`, "");
  const rows = SCENARIOS.filter(([k]) => n(server, k) + n("raw", k) > 0).map(([k, label]) => {
    const pair = (f: string, d = 0) => `${fmt(med(server, k, f), d)} / ${fmt(med("raw", k, f), d)}`;
    return [label, pair("msgs_per_s"), fmt(med(server, k, "msgs_per_s") / med("raw", k, "msgs_per_s"), 3), pair("p50_ms", 2), pair("p99_ms", 2), pair("server_cpu_pct"), pair("server_cpu_us_per_msg", 1), pair("server_rss_mib"), `${n(server, k)} / ${n("raw", k)}`];
  });
  table(["scenario", "msgs/s broker / raw", "ratio", "p50 ms", "p99 ms", "server CPU %", "server CPU µs/msg", "server RSS MiB", "n"], rows);
}

lines.push("### Fixed rate: was the offered rate achieved?", "");
table(
  ["server", "scenario", "offered/s", "delivered/s", "achieved (windows)", "p50 ms", "p99 ms"],
  ["broker", "broker_normal", "raw"].flatMap((s) =>
    ["rate_10k_1000", "rate_10k_100"].filter((k) => n(s, k) > 0).map((k) => [
      s, k, fmt(med(s, k, "offered_per_s")), fmt(med(s, k, "msgs_per_s")),
      `${runs.filter((r) => win(r, s, k)?.rate_achieved === true).length} of ${n(s, k)}`, fmt(med(s, k, "p50_ms"), 2), fmt(med(s, k, "p99_ms"), 2),
    ]),
  ),
);

lines.push("### Drain (broker only) and idle peers", "");
const top = (s: string, f: string) => median(runs.map((r) => Number(r[s]?.[f] ?? NaN)));
table(
  ["server", "drain msgs", "drain msgs/s", "queued msgs/s", "drain RSS growth MiB", "idle RSS MiB, 1,000 peers", "RSS before connecting MiB", "connect 1,000 peers ms", "n drain"],
  ["broker", "broker_normal", "raw"].filter((s) => runs.some((r) => r[s])).map((s) => [
    s, fmt(med(s, "drain", "messages")), fmt(med(s, "drain", "drain_msgs_per_s")), fmt(med(s, "drain", "queued_msgs_per_s")), fmt(med(s, "drain", "rss_growth_mib"), 1),
    fmt(top(s, "idle_rss_mib"), 1), fmt(top(s, "rss_before_connect_mib"), 1), fmt(top(s, "connect_1k_ms")), String(n(s, "drain")),
  ]),
);

lines.push("### Headline numbers as printed by each run (no steal filter)", "");
table(
  ["metric", "median", "per run"],
  ["durable_vs_raw", "p99_ms_1k_peers_10k_rate", "drain_msgs_per_s", "rss_mib_1k_idle_peers", "durable_vs_raw_normal", "drain_msgs_per_s_normal"]
    .filter((k) => runs.some((r) => r[k] !== undefined))
    .map((k) => [k, String(round(median(runs.map((r) => Number(r[k] ?? NaN))))), runs.map((r) => r[k] ?? "–").join(", ")]),
);
process.stdout.write(lines.join("\n") + "\n");
