// `claudemesh serve` as a first-time user meets it from a checkout (first-run review L4, L16):
// --help shows durations as docs/operations.md writes them (7d, not 604800000), and the first-run
// banner tells how to run claudemesh where `claudemesh` is no command yet: `bun run src/main.ts`
// from the checkout's root (what scripts/serve.sh runs), the absolute path from anywhere else.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { serveProcess } from "../helpers/process.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");

/** Starts `serve` from source in `cwd` on a fresh data dir; resolves with stderr up to the
 *  operator token (the end of the first-run banner), then stops it with SIGTERM. */
async function firstRunBanner(cwd: string, main: string, flags: string[] = []): Promise<{ banner: string; code: number; dataDir: string }> {
  const dataDir = tempDir("cm-polish-serve-");
  await using serve = serveProcess(["--port", "0", "--data-dir", dataDir, ...flags], { command: [process.execPath, "run", main], cwd, env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "warn" } });
  await serve.waitFor(/issues a new one\):\n {2}\S+\n/);
  serve.proc.kill("SIGTERM");
  const code = await serve.proc.exited;
  const text = serve.stderr();
  return { banner: text.slice(text.indexOf("First start")), code, dataDir };
}

describe("serve from a checkout", () => {
  test("serve --help shows durations with units", async () => {
    const r = await cli(tempDir("cm-polish-cfg-"), ["serve", "--help"]);
    const line = (flag: string) => r.stdout.split("\n").find((l) => l.trimStart().startsWith(`--${flag}=`))?.match(/\[default: (.*)\]/)?.[1];
    expect({ code: r.code, defaults: ["message-ttl", "dedup-window", "hello-timeout", "ping-interval", "drain-timeout"].map(line), example: r.stdout.includes("Example: claudemesh serve") }).toEqual({
      code: 0,
      defaults: ["7d", "2m", "10s", "30s", "10s"],
      example: true,
    });
  }, 30_000);

  test("the first-run banner says `bun run src/main.ts …` where claudemesh is no command", async () => {
    const fromRoot = await firstRunBanner(ROOT, "src/main.ts");
    expect(fromRoot.code).toBe(0);
    expect(fromRoot.banner).toMatch(/^First start on this data directory\. Create the first mesh \(on the machine you work on\):\n {2}bun run src\/main\.ts new my-team --broker http:\/\/127\.0\.0\.1:\d+\nthen `bun run src\/main\.ts invite` for teammates and `bun run src\/main\.ts install` to connect Claude Code\.\n/);
    // Run as printed, it issues the token of this broker, not of the default data directory's.
    expect(fromRoot.banner).toContain(`\`bun run src/main.ts admin token --data-dir ${fromRoot.dataDir}\` issues a new one`);
    // Started from elsewhere, the path is absolute (a relative one would name nothing there).
    const elsewhere = await firstRunBanner(tempDir("cm-polish-cwd-"), MAIN);
    expect(elsewhere.banner).toContain(`  bun run ${MAIN} new my-team --broker http://127.0.0.1:`);
  }, 60_000);

  // Session 35: on a "VPS" left at the default host, `new … --broker http://127.0.0.1:…` run on the
  // laptop "you work on" reaches the laptop; and a mesh keeps the URL it was created with, which
  // every invite then names.
  test("on 127.0.0.1 without a public URL, the banner says only this machine reaches the broker", async () => {
    const line = 'It listens on 127.0.0.1, which only this machine reaches: for teammates on other machines, serve TLS itself (--tls-cert and --tls-key, on --host 0.0.0.0) or put a TLS proxy in front, and set --public-url https://… before creating the mesh (docs/operations.md, "TLS without a proxy", "Behind a reverse proxy").';
    const local = await firstRunBanner(ROOT, "src/main.ts");
    expect(local.banner.split("\n").slice(2, 4)).toEqual(["then `bun run src/main.ts invite` for teammates and `bun run src/main.ts install` to connect Claude Code.", line]);
    const published = await firstRunBanner(ROOT, "src/main.ts", ["--public-url", "https://mesh.example.com"]);
    expect({ code: published.code, line: published.banner.includes("only this machine reaches") }).toEqual({ code: 0, line: false });
  }, 60_000);
});
