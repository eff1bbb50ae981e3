// scripts/release.ts and scripts/formula.ts without building anything: the target table and
// Bun's runtime names, option parsing, and the Homebrew formula generated from a SHA256SUMS
// written by sha256sum over real files (syntax checked with Debian's `ruby -c`).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FORMULA_ASSETS, missingFormulaAssets, parseSums, renderFormula } from "../../scripts/formula.ts";
import { BUILD_FLAGS, ENTRYPOINTS, TARGETS, assetName, nativeTarget, parseOptions, runtimeName, runtimeSource } from "../../scripts/release.ts";

const ROOT = resolve(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "cm-release-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("targets", () => {
  test("bun run build and the release builds compile with the one flag list", () => {
    expect(BUILD_FLAGS).toEqual(["--compile", "--minify", "--bytecode", "--format=esm", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"]);
    const build = readFileSync(join(ROOT, "scripts/build.ts"), "utf8");
    expect(build).toContain('import { BUILD_FLAGS, commitDefine, ENTRYPOINTS } from "./release.ts";');
    // The program and the checkpointer's worker thread, which must be an entrypoint to be embedded.
    expect(ENTRYPOINTS).toEqual(["src/main.ts", "src/store/sqlite/checkpoint-worker.ts"]);
    expect(build).not.toContain('"--compile"');
  });

  test("the six targets, their assets and the runtime file Bun looks for", () => {
    expect(TARGETS.map((t) => [assetName(t), runtimeName(t, "1.4.5")])).toEqual([
      ["claudemesh-linux-x64", "bun-linux-x64-v1.4.5"],
      ["claudemesh-linux-x64-baseline", "bun-linux-x64-baseline-v1.4.5"],
      ["claudemesh-linux-x64-musl", "bun-linux-x64-musl-v1.4.5"],
      ["claudemesh-linux-arm64", "bun-linux-aarch64-v1.4.5"],
      ["claudemesh-darwin-x64", "bun-darwin-x64-v1.4.5"],
      ["claudemesh-darwin-arm64", "bun-darwin-aarch64-v1.4.5"],
    ]);
    expect(runtimeSource(TARGETS[3]!, "1.4.5")).toBe("https://registry.npmjs.org/@oven/bun-linux-aarch64/-/bun-linux-aarch64-1.4.5.tgz (file package/bin/bun)");
  });

  test("the native target follows platform, architecture and libc", () => {
    expect(nativeTarget("linux", "x64", false)?.name).toBe("linux-x64");
    expect(nativeTarget("linux", "x64", true)?.name).toBe("linux-x64-musl");
    expect(nativeTarget("linux", "arm64", false)?.name).toBe("linux-arm64");
    expect(nativeTarget("darwin", "arm64", false)?.name).toBe("darwin-arm64");
    expect(nativeTarget("win32", "x64", false)).toBeNull();
  });
});

describe("options", () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseOptions(argv, env, "0.1.0");

  test("defaults: every target, the package version, dist/, the GitHub release URL", () => {
    const o = parse([]);
    expect(o.version).toBe("0.1.0");
    expect(o.targets.length).toBe(6);
    expect(o.out).toBe(join(ROOT, "dist"));
    expect(o.baseUrl).toBe("https://github.com/claudemesh/claudemesh/releases/download/v0.1.0");
    expect(o.formula).toBe(join(ROOT, "Formula/claudemesh.rb"));
    expect(o.runtimes).toBeNull();
  });

  test("--version (a leading v is dropped), --targets subset and native, --runtimes or its variable", () => {
    const o = parse(["--version", "v1.2.3-rc.1", "--targets", "native,darwin-arm64", "--runtimes", "/opt/rt", "--no-formula"]);
    expect(o.version).toBe("1.2.3-rc.1");
    expect(o.targets.map((t) => t.name)).toEqual([nativeTarget()!.name, "darwin-arm64"]);
    expect(o.runtimes).toBe("/opt/rt");
    expect(o.formula).toBeNull();
    expect(parse([], { CLAUDEMESH_BUN_RUNTIMES: "/srv/rt" }).runtimes).toBe("/srv/rt");
  });

  test("bad input is refused with the reason", () => {
    expect(() => parse(["--targets", "windows-x64"])).toThrow('unknown target "windows-x64"');
    expect(() => parse(["--version", "1.2"])).toThrow("not a version");
    expect(() => parse(["--version", "1.2.3;rm"])).toThrow("not a version");
    expect(() => parse(["--frobnicate"])).toThrow();
  });
});

describe("Homebrew formula", () => {
  // Real files, hashed by the same tool users verify with.
  const dir = join(work, "assets");
  const files = [...Object.values(FORMULA_ASSETS), "claudemesh-linux-x64", "claudemesh-linux-x64-musl", "install.sh"];
  const sumsText = () => {
    Bun.spawnSync(["mkdir", "-p", dir]);
    for (const f of files) writeFileSync(join(dir, f), `contents of ${f} ${Math.random()}\n`);
    const r = Bun.spawnSync(["sha256sum", ...files], { cwd: dir });
    expect(r.exitCode).toBe(0);
    return r.stdout.toString();
  };

  test("each platform block names its asset's URL and the hash from SHA256SUMS", () => {
    const text = sumsText();
    const sums = parseSums(text);
    expect(sums.size).toBe(files.length);
    const rb = renderFormula({ version: "1.2.3", baseUrl: "https://example.com/releases/download/v1.2.3/", sums });
    const block = (os: string, cpu: string) => {
      const m = new RegExp(`on_${os} do[\\s\\S]*?on_${cpu} do\\s*\\n\\s*url "([^"]+)"\\s*\\n\\s*sha256 "([0-9a-f]{64})"`).exec(rb);
      return m ? [m[1], m[2]] : null;
    };
    const expected = (asset: string) => [`https://example.com/releases/download/v1.2.3/${asset}`, sums.get(asset)];
    expect(block("macos", "arm")).toEqual(expected("claudemesh-darwin-arm64"));
    expect(block("macos", "intel")).toEqual(expected("claudemesh-darwin-x64"));
    expect(block("linux", "arm")).toEqual(expected("claudemesh-linux-arm64"));
    expect(block("linux", "intel")).toEqual(expected("claudemesh-linux-x64-baseline"));
    // The hashes really are those of the files.
    for (const asset of Object.values(FORMULA_ASSETS)) expect(sums.get(asset)).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, asset))).digest("hex"));
    expect(rb).toContain('version "1.2.3"');
    expect(rb).toContain('bin.install Dir["claudemesh-*"].fetch(0) => "claudemesh"');
    expect(rb).toContain('generate_completions_from_executable(bin/"claudemesh", "completion")');
    expect(rb).toContain('run [opt_bin/"claudemesh", "serve", "--data-dir", var/"claudemesh"]');
    expect(rb).toContain("port = free_port");
    expect(rb).toContain("/health/ready");

    const file = join(work, "claudemesh.rb");
    writeFileSync(file, rb);
    const ruby = Bun.which("ruby");
    if (!ruby) throw new Error("ruby is not installed: the formula's syntax check needs Debian's `ruby` package (apt-get install ruby)");
    const check = Bun.spawnSync([ruby, "-c", file]);
    expect({ code: check.exitCode, out: check.stdout.toString().trim() }).toEqual({ code: 0, out: "Syntax OK" });
  });

  test("the committed Formula/claudemesh.rb is what the generator makes of its own hashes", () => {
    const committed = readFileSync(join(ROOT, "Formula/claudemesh.rb"), "utf8");
    const version = /version "([^"]+)"/.exec(committed)![1]!;
    const sums = new Map([...committed.matchAll(/url "[^"]+\/(claudemesh-[a-z0-9-]+)"\s*\n\s*sha256 "([0-9a-f]{64})"/g)].map((m) => [m[1]!, m[2]!] as [string, string]));
    expect(missingFormulaAssets(sums)).toEqual([]);
    expect(renderFormula({ version, baseUrl: `https://github.com/claudemesh/claudemesh/releases/download/v${version}`, sums })).toBe(committed);
  });

  test("a SHA256SUMS without every Homebrew platform, or a malformed line, is refused", () => {
    const sums = parseSums(`${"a".repeat(64)}  claudemesh-darwin-arm64\n`);
    expect(missingFormulaAssets(sums)).toEqual(["claudemesh-darwin-x64", "claudemesh-linux-arm64", "claudemesh-linux-x64-baseline"]);
    expect(() => renderFormula({ version: "1.0.0", baseUrl: "https://x", sums })).toThrow("lacks claudemesh-darwin-x64");
    expect(() => parseSums("deadbeef  claudemesh-linux-x64\n")).toThrow("not a SHA256SUMS line");
  });
});
