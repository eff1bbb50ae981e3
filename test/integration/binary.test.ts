// The compiled executable: built with the release flags, it serves from any directory with its
// embedded migrations, API reference and web dashboard (which runs in chromium, at the root and
// under a proxy's path), ignores a .env in the working directory, and drains on SIGTERM.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { startMcp } from "../helpers/mcp.ts";
import { join, resolve } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { spawnBroker } from "../helpers/process.ts";
import { launchBrowser, operatorSees } from "../helpers/browser.ts";
import { until } from "../helpers/cli.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { prefixProxy } from "../helpers/prefix-proxy.ts";

const ROOT = resolve(import.meta.dir, "../..");
const work = tempDir("cm-bin-");
const bin = join(work, "claudemesh");

beforeAll(async () => {
  const build = Bun.spawn(["bun", "run", join(ROOT, "scripts/build.ts"), bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(await build.exited).toBe(0);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[], cwd = work) => {
  const p = Bun.spawnSync([bin, ...args], { cwd, env: { ...process.env, CLAUDEMESH_DATA_DIR: join(work, "data") } });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

describe("compiled binary", () => {
  test("--version, version --json and --help", () => {
    const pkg = require(join(ROOT, "package.json"));
    expect(run(["--version"])).toEqual({ code: 0, out: `claudemesh ${pkg.version}\n`, err: "" });
    // The build's commit is baked in (scripts/release.ts commitDefine).
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
    const version = run(["version", "--json"]);
    expect({ code: version.code, json: JSON.parse(version.out) }).toEqual({ code: 0, json: { version: pkg.version, commit: head, bun: Bun.version, schemaVersion: LATEST_VERSION } });
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("serve");
  });

  test("serve --check validates, and a .env in the working directory is not loaded", () => {
    expect(run(["serve", "--check"])).toMatchObject({ code: 0, out: expect.stringContaining(`database writable at schema version ${LATEST_VERSION}`) });
    writeFileSync(join(work, ".env"), "CLAUDEMESH_LOG_LEVEL=loud\n");
    expect(run(["serve", "--check"]).code).toBe(0);
    expect(run(["serve", "--check", "--log-level", "loud"])).toMatchObject({ code: 2, err: expect.stringContaining("logLevel") });
  });

  test("the CLI works end to end from the binary: new, invite, join, send, inbox, dashboard, and the MCP server", async () => {
    await using b = await spawnBroker(join(work, "e2e-data"), [], [bin]);
    const alice = join(work, "alice");
    const bob = join(work, "bob");
    const as = (dir: string, args: string[]) => {
      // No claude on PATH: install then edits ~/.claude.json itself, as checked below.
      const p = Bun.spawnSync([bin, ...args], { cwd: work, env: { ...process.env, PATH: BARE_PATH, CLAUDEMESH_CONFIG_DIR: dir, HOME: work, CI: "1" } });
      return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
    };
    expect(as(alice, ["new", "Bin Team", "--broker", b.url, "--display-name", "alice"]).code).toBe(0);
    const link = JSON.parse(as(alice, ["invite", "--json"]).out).link;
    expect(as(bob, ["join", link, "--name", "bob"]).code).toBe(0);
    expect(as(alice, ["send", "bob", "hello from the binary"]).code).toBe(0);
    const inbox = as(bob, ["inbox", "--json"]);
    expect(JSON.parse(inbox.out).messages.map((m: { body: string }) => m.body)).toEqual(["hello from the binary"]);
    // The checkpointer's worker thread is embedded too (scripts/release.ts ENTRYPOINTS) and ran.
    const metrics = async () => (await fetch(`${b.url}/metrics`)).text();
    await until(async () => /broker_wal_checkpoints_total\{result="ok"\} [1-9]/.test(await metrics()), "a checkpoint by the embedded thread");
    // `dashboard` serves the embedded page itself and forwards its calls to the broker.
    const dash = Bun.spawn([bin, "dashboard", "--no-open", "--json"], { cwd: work, env: { ...process.env, CLAUDEMESH_CONFIG_DIR: alice, HOME: work, CI: "1" }, stdout: "pipe", stderr: "pipe" });
    let printed = "";
    let served: { local: string } | null = null;
    for await (const chunk of dash.stdout) {
      printed += new TextDecoder().decode(chunk);
      try {
        served = JSON.parse(printed);
        break;
      } catch {}
    }
    const localPage = await (await fetch(served!.local)).text();
    expect(localPage).toContain("claudemesh dashboard");
    const chunk = /src="\.?\/([^"]+\.js)"/.exec(localPage)![1];
    expect((await fetch(`${served!.local}${chunk}`)).status).toBe(200);
    expect(await (await fetch(`${served!.local}v1/dashboard/session`)).json()).toEqual({ member: false, operator: false });
    dash.kill("SIGTERM");
    expect(await dash.exited).toBe(0);
    await using mcp = await startMcp(bob, "bin-session", "/work/projects/app", [bin]);
    expect((await mcp.client.listTools()).tools.length).toBe(6);
    await mcp.close();
    const installed = as(bob, ["install", "--json"]);
    expect(JSON.parse(installed.out).mcp.via).toBe("~/.claude.json");
    expect(JSON.parse(readFileSync(join(work, ".claude.json"), "utf8")).mcpServers.claudemesh).toEqual({ type: "stdio", command: bin, args: ["mcp"], env: { CLAUDEMESH_CONFIG_DIR: bob } }); // not ~/.claudemesh: passed on
  }, 60_000);

  test("serve on port 0 → /health/ready 200, API docs and dashboard embedded → SIGTERM → exit 0", async () => {
    await using b = await spawnBroker(join(work, "serve-data"), [], [bin]);
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${b.url}/docs/scalar.js`)).status).toBe(200);
    // The dashboard is embedded: the page, its bundle (with libsodium) and the CSP on both.
    const page = await fetch(`${b.url}/`);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain("claudemesh dashboard");
    const chunks = [...html.matchAll(/src="\.?\/([^"]+\.js)"/g)].map((m) => m[1]);
    expect(chunks.length).toBe(1);
    const js = await fetch(`${b.url}/${chunks[0]}`);
    expect({ status: js.status, type: js.headers.get("content-type"), csp: Boolean(js.headers.get("content-security-policy")) }).toEqual({ status: 200, type: "text/javascript;charset=utf-8", csp: true });
    expect((await js.text()).length).toBeGreaterThan(100_000);
    await using br = await launchBrowser(b.url);
    await br.page.goto(`${b.url}/#login=not-a-link`);
    await br.page.locator('[data-testid="login-error"]').waitFor();
    expect({ outside: br.outside, problems: br.problems }).toEqual({ outside: [], problems: [] });
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
  }, 30_000);

  // Its bundler writes root-absolute asset URLs into the page (dashboard-assets.ts makes them
  // relative); dashboard-prefix.test.ts covers the rest of the page under a path from source.
  test("the page under a proxy's path /cm/ loads its files and signs the operator in", async () => {
    await using proxy = prefixProxy("/cm");
    await using b = await spawnBroker(join(work, "prefix-data"), ["--public-url", proxy.base], [bin]);
    proxy.forwardTo(b.url);
    await until(() => /cmo_\S+/.test(b.stderr()), "the operator token in the first-run banner");
    const token = /cmo_\S+/.exec(b.stderr())![0];
    await createTestMesh(proxy.base, "alice", "shop");
    await using br = await launchBrowser(proxy.origin);
    await br.page.goto(`${proxy.base}/`);
    await operatorSees(br.page, token, "shop");
    expect({ misses: proxy.misses, outside: br.outside, problems: br.problems }).toEqual({ misses: [], outside: [], problems: [] });
  }, 60_000);
});
