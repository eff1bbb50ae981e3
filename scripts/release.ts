// bun run release [--version X.Y.Z] [--targets a,b|native] [--out DIR] [--runtimes DIR]
//                 [--base-url URL] [--formula FILE | --no-formula] [--json]
// Builds claudemesh-<os>-<arch> for every release target into dist/ with the version baked in,
// writes SHA256SUMS (assets, install.sh, claudemesh.service) and regenerates the Homebrew formula.
// Cross targets need Bun's runtime for that platform. Bun fetches it on first use (from the npm
// registry) into its cache; offline, put the files in a directory and pass --runtimes DIR (or
// CLAUDEMESH_BUN_RUNTIMES=DIR). A target whose runtime cannot be had is skipped with a message
// naming the file; the rest still build. Exit 0 when the native target (if asked for) built and
// at least one target built. Binaries are never stripped: the app is appended to the executable.
import { $ } from "bun";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { missingFormulaAssets, parseSums, renderFormula } from "./formula.ts";

const ROOT = resolve(import.meta.dir, "..");

/** What every build compiles: the program, and the background checkpointer's worker thread
 *  (src/store/sqlite/checkpointer.ts starts it by path; a worker must be an entrypoint of its own
 *  to be embedded in the executable). Paths relative to the repository root. */
export const ENTRYPOINTS: readonly string[] = ["src/main.ts", "src/store/sqlite/checkpoint-worker.ts"];

/** The compile flags of every build, `bun run build` and each release target alike.
 *  --format=esm is required with --bytecode; the two --no-compile-autoload flags stop the binary
 *  from reading .env / bunfig.toml from whatever directory a user runs it in. */
export const BUILD_FLAGS: readonly string[] = ["--compile", "--minify", "--bytecode", "--format=esm", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];

export type Target = { name: string; os: "linux" | "darwin"; arch: "x64" | "arm64"; variant: "" | "baseline" | "musl" };

/** Release targets; names match `bun build --target=bun-<name>` and the asset claudemesh-<name>. */
export const TARGETS: readonly Target[] = [
  { name: "linux-x64", os: "linux", arch: "x64", variant: "" },
  { name: "linux-x64-baseline", os: "linux", arch: "x64", variant: "baseline" },
  { name: "linux-x64-musl", os: "linux", arch: "x64", variant: "musl" },
  { name: "linux-arm64", os: "linux", arch: "arm64", variant: "" },
  { name: "darwin-x64", os: "darwin", arch: "x64", variant: "" },
  { name: "darwin-arm64", os: "darwin", arch: "arm64", variant: "" },
];

export const assetName = (t: Target) => `claudemesh-${t.name}`;

/** Bun's name for a target's runtime: its cache file, and the executable to pass as
 *  --compile-executable-path (bun-linux-aarch64-v1.4.5 for linux-arm64 under Bun 1.4.5). */
export function runtimeName(t: Target, bunVersion = Bun.version): string {
  return `bun-${t.os}-${t.arch === "arm64" ? "aarch64" : "x64"}${t.variant ? `-${t.variant}` : ""}-v${bunVersion}`;
}

/** Where that runtime can be fetched by hand: the npm package tarball holding `package/bin/bun`. */
export function runtimeSource(t: Target, bunVersion = Bun.version): string {
  const pkg = runtimeName(t, bunVersion).replace(/-v[^-]+$/, "");
  return `https://registry.npmjs.org/@oven/${pkg}/-/${pkg}-${bunVersion}.tgz (file package/bin/bun)`;
}

/** The target this Bun runs as (its own executable is the runtime, no download). */
export function nativeTarget(platform = process.platform, arch = process.arch, musl = isMusl()): Target | null {
  const name = `${platform}-${arch}${platform === "linux" && musl && arch === "x64" ? "-musl" : ""}`;
  return TARGETS.find((t) => t.name === name) ?? null;
}

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

export const VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

export type Options = { version: string; targets: Target[]; out: string; runtimes: string | null; baseUrl: string; formula: string | null; json: boolean };

/** Parses the command line; throws Error with a usage message on bad input. */
export function parseOptions(argv: string[], env: Record<string, string | undefined> = process.env, pkgVersion = readPkgVersion()): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      version: { type: "string" },
      targets: { type: "string" },
      out: { type: "string" },
      runtimes: { type: "string" },
      "base-url": { type: "string" },
      formula: { type: "string" },
      "no-formula": { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  const version = (values.version ?? pkgVersion).replace(/^v/, "");
  if (!VERSION_RE.test(version)) throw new Error(`--version: "${version}" is not a version like 1.2.3 or 1.2.3-rc.1`);
  const native = nativeTarget();
  const names = (values.targets ?? "all").split(",").map((s) => s.trim()).filter(Boolean);
  const targets: Target[] = [];
  for (const n of names) {
    const picked = n === "all" ? [...TARGETS] : n === "native" ? (native ? [native] : []) : TARGETS.filter((t) => t.name === n);
    if (picked.length === 0) throw new Error(`--targets: unknown target "${n}" (known: ${TARGETS.map((t) => t.name).join(", ")}, native, all)`);
    for (const t of picked) if (!targets.includes(t)) targets.push(t);
  }
  return {
    version,
    targets,
    out: resolve(values.out ?? join(ROOT, "dist")),
    runtimes: values.runtimes ?? env.CLAUDEMESH_BUN_RUNTIMES ?? null,
    baseUrl: values["base-url"] ?? `https://github.com/claudemesh/claudemesh/releases/download/v${version}`,
    formula: values["no-formula"] ? null : resolve(values.formula ?? join(ROOT, "Formula/claudemesh.rb")),
    json: Boolean(values.json),
  };
}

function readPkgVersion(): string {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
}

/** The --define of the commit `claudemesh version --json` reports (src/version.ts): the checkout's
 *  HEAD, or "" outside a git checkout. */
export async function commitDefine(): Promise<string[]> {
  const head = (await $`git rev-parse HEAD`.cwd(ROOT).quiet().nothrow()).stdout.toString().trim();
  return ["--define", `CLAUDEMESH_COMMIT=${JSON.stringify(/^[0-9a-f]{40}$/.test(head) ? head : "")}`];
}

export type Built = { target: string; file: string; bytes: number };
/** `howToSupply` is set when the missing piece is Bun's runtime for the target. */
export type Skipped = { target: string; reason: string; runtime: string; howToSupply: string | null };

type Failure = { download: boolean; reason: string };

/** Builds one target; returns null on success, or why it could not be built (`download`: Bun
 *  had no runtime for the target and could not fetch one). */
async function build(t: Target, opts: Options, native: Target | null): Promise<Failure | null> {
  const flags = [...BUILD_FLAGS, `--target=bun-${t.name}`, `--define`, `CLAUDEMESH_VERSION=${JSON.stringify(opts.version)}`, ...(await commitDefine())];
  const supplied = opts.runtimes ? join(opts.runtimes, runtimeName(t)) : null;
  if (t !== native && supplied && existsSync(supplied)) flags.push(`--compile-executable-path=${supplied}`);
  const r = await $`bun build ${ENTRYPOINTS.map((e) => join(ROOT, e))} ${flags} --outfile ${join(opts.out, assetName(t))}`.cwd(ROOT).quiet().nothrow();
  if (r.exitCode === 0) return null;
  const text = `${r.stdout}${r.stderr}`;
  const download = /Failed to download '([^']+)': (\S+)/.exec(text);
  if (download) return { download: true, reason: `Bun has no ${t.name} runtime (${download[1]}) and could not download it (${download[2]})` };
  const lines = text.trim().split("\n").filter((l) => /error/i.test(l));
  return { download: false, reason: `bun build failed: ${(lines.length ? lines : text.trim().split("\n").slice(-2)).join(" / ")}` };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export type Summary = { version: string; out: string; built: Built[]; skipped: Skipped[]; sums: string; formula: string | null; formulaSkipped: string | null };

export async function release(opts: Options): Promise<Summary> {
  mkdirSync(opts.out, { recursive: true });
  // Assets of an earlier run would sit next to a SHA256SUMS that no longer lists them.
  for (const f of readdirSync(opts.out)) if (f.startsWith("claudemesh-") || f === "SHA256SUMS") rmSync(join(opts.out, f), { force: true });
  const native = nativeTarget();
  const built: Built[] = [];
  const skipped: Skipped[] = [];
  for (const t of opts.targets) {
    process.stderr.write(`building ${assetName(t)}…\n`);
    const failure = await build(t, opts, native);
    if (failure === null) {
      const file = join(opts.out, assetName(t));
      built.push({ target: t.name, file, bytes: statSync(file).size });
      continue;
    }
    const runtime = runtimeName(t);
    skipped.push({
      target: t.name,
      reason: failure.reason,
      runtime,
      howToSupply: !failure.download
        ? null
        : `put Bun's ${t.name} runtime at <dir>/${runtime} and pass --runtimes <dir> (or CLAUDEMESH_BUN_RUNTIMES=<dir>); get it from ${runtimeSource(t)}, or run this once with network access so Bun caches it`,
    });
  }
  if (native && built.some((b) => b.target === native.name)) {
    const bin = join(opts.out, assetName(native));
    const printed = (await $`${bin} --version`.quiet().nothrow()).stdout.toString().trim();
    if (printed !== `claudemesh ${opts.version}`) throw new Error(`${bin} --version printed "${printed}", expected "claudemesh ${opts.version}"`);
  }
  copyFileSync(join(ROOT, "install.sh"), join(opts.out, "install.sh"));
  copyFileSync(join(ROOT, "packaging/claudemesh.service"), join(opts.out, "claudemesh.service"));
  const listed = [...built.map((b) => assetName(TARGETS.find((t) => t.name === b.target)!)), "claudemesh.service", "install.sh"].sort();
  const sums = listed.map((f) => `${sha256(join(opts.out, f))}  ${f}\n`).join("");
  writeFileSync(join(opts.out, "SHA256SUMS"), sums);
  let formula: string | null = null;
  let formulaSkipped: string | null = null;
  const missing = missingFormulaAssets(parseSums(sums));
  if (!opts.formula) formulaSkipped = "--no-formula";
  else if (missing.length) formulaSkipped = `not all Homebrew platforms were built (missing ${missing.join(", ")})`;
  else {
    writeFileSync(opts.formula, renderFormula({ version: opts.version, baseUrl: opts.baseUrl, sums: parseSums(sums) }));
    formula = opts.formula;
  }
  return { version: opts.version, out: opts.out, built, skipped, sums: join(opts.out, "SHA256SUMS"), formula, formulaSkipped };
}

function report(s: Summary): string {
  const lines = [`claudemesh ${s.version} → ${s.out}`];
  for (const b of s.built) lines.push(`  built    ${b.target.padEnd(20)} ${(b.bytes / 1e6).toFixed(1)} MB`);
  for (const k of s.skipped) lines.push(`  SKIPPED  ${k.target.padEnd(20)} ${k.reason}`, ...(k.howToSupply ? [`           to build it: ${k.howToSupply}`] : []));
  lines.push(`  ${s.sums}`);
  lines.push(s.formula ? `  ${s.formula} regenerated` : `  Formula not written: ${s.formulaSkipped}`);
  return lines.join("\n");
}

if (import.meta.main) {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`release: ${(err as Error).message}`);
    process.exit(2);
  }
  const summary = await release(opts);
  console.log(opts.json ? JSON.stringify(summary, null, 2) : report(summary));
  const native = nativeTarget();
  const nativeWanted = native !== null && opts.targets.includes(native);
  const nativeFailed = nativeWanted && !summary.built.some((b) => b.target === native!.name);
  process.exit(summary.built.length === 0 || nativeFailed ? 1 : 0);
}
