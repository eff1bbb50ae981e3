// `claudemesh upgrade` (docs/operations.md "Upgrading", README's exit codes) with real release
// builds: `bun run release` makes the native target as 1.0.0 and as 9.9.9, the 1.0.0 binary is
// copied into a temp directory as install.sh leaves it, and it upgrades itself from a local
// release server laid out as CLAUDEMESH_DOWNLOAD_URL roots are (v<version>/, and latest/, which
// redirects to v9.9.9/ as GitHub's does). Every refusal leaves the installed file byte for byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { listing, releaseFixture, SLOW, versionOf } from "../helpers/release-fixture.ts";
import { tempDir } from "../helpers/broker.ts";
import { cutServer } from "../helpers/cut-server.ts";
import { AS_SERVICE, canSwitchUser, SERVICE_UID } from "../helpers/service-user.ts";
import { releaseTarget, thisPlatform } from "../../src/cli/upgrade/release-layout.ts";
import { UPDATE_AVAILABLE_EXIT } from "../../src/cli/commands/upgrade.ts";

const fx = releaseFixture();
const { work, rel } = fx;
/** What the binary downloads on this machine (release-layout.ts, as install.sh picks it). */
const ASSET = `claudemesh-${(releaseTarget(thisPlatform()) as { target: string }).target}`;
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;
let cut: ReturnType<typeof cutServer>;

/** A release tree under `name`, v<version>/ copied from the build, with `sums` in place of the
 *  release's SHA256SUMS when given. */
function tree(name: string, version: string, sums?: (real: string) => string): string {
  const dir = join(work, name, `v${version}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(rel(version), fx.asset), join(dir, ASSET));
  const real = `${sha(join(dir, ASSET))}  ${ASSET}\n`;
  writeFileSync(join(dir, "SHA256SUMS"), sums ? sums(real) : real);
  return dir;
}

beforeAll(async () => {
  await fx.build("1.0.0", "native");
  await fx.build("9.9.9", "native");
  tree("good", "1.0.0");
  tree("good", "9.9.9");
  tree("badsum", "9.9.9", (real) => real.replace(/^[0-9a-f]{64}/, "0".repeat(64)));
  tree("nosum", "9.9.9", (real) => real.replace(ASSET, "claudemesh-plan9-mips"));
  tree("cut", "9.9.9");
  const file = (path: string) => {
    const f = join(work, path);
    return /^\/(good|badsum|nosum|cut)\/v[\d.]+\/[\w.-]+$/.test(path) && existsSync(f) ? f : undefined;
  };
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const latest = /^\/(\w+)\/latest\/(.+)$/.exec(path);
      if (latest) return Response.redirect(new URL(`/${latest[1]}/v9.9.9/${latest[2]}`, req.url).href, 302);
      const f = file(path);
      return f ? new Response(Bun.file(f)) : new Response("not found", { status: 404 });
    },
  });
  cut = cutServer(file, 65_536);
}, 180_000);

afterAll(() => {
  server?.stop(true);
  cut?.stop(true);
  fx.cleanup();
}, 120_000);

/** A fresh install: the 1.0.0 build at <dir>/claudemesh, mode 0750 (so the upgrade's copy of the
 *  mode shows). */
function install(): { dir: string; bin: string; sha: string } {
  const dir = join(tempDir("cm-upgrade-"), "bin");
  mkdirSync(dir);
  const bin = join(dir, "claudemesh");
  copyFileSync(join(rel("1.0.0"), fx.asset), bin);
  chmodSync(bin, 0o750);
  return { dir, bin, sha: sha(bin) };
}

type Result = { code: number; out: string; err: string; json: () => any };
async function upgrade(bin: string, args: string[], root = "good", opts: { base?: string; prefix?: string[] } = {}): Promise<Result> {
  requests.length = 0;
  const p = Bun.spawn([...(opts.prefix ?? []), bin, "upgrade", ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: work, CLAUDEMESH_DOWNLOAD_URL: `${opts.base ?? server.url.href}${root}` },
    stdout: "pipe",
    stderr: "pipe",
    timeout: SLOW - 30_000,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err, json: () => JSON.parse(out) };
}

describe("claudemesh upgrade", () => {
  test("--check, upgrade (verified, .prev kept, mode kept), nothing to do at the latest, --rollback twice", async () => {
    const { dir, bin, sha: old } = install();
    const check = await upgrade(bin, ["--check", "--json"]);
    expect({ code: check.code, json: check.json() }).toEqual({ code: UPDATE_AVAILABLE_EXIT, json: { installed: "1.0.0", latest: "9.9.9", updateAvailable: true, installedBy: "script", path: bin, fix: "claudemesh upgrade" } });
    expect(requests).toEqual(["/good/latest/SHA256SUMS", "/good/v9.9.9/SHA256SUMS"]);

    const up = await upgrade(bin, []);
    const root = `${server.url.href}good`;
    expect({ code: up.code, err: up.err }).toEqual({ code: 0, err: `claudemesh: warning: downloading over plain HTTP from ${root}; SHA256SUMS comes from the same place, so its check only catches a corrupted download\ndownloading ${root}/v9.9.9/${ASSET}…\n` });
    expect(up.out).toContain(`claudemesh 1.0.0 → 9.9.9 at ${bin} (SHA-256 matches the release's SHA256SUMS). The old binary is kept as ${bin}.prev: claudemesh upgrade --rollback puts it back.`);
    expect(up.out).toContain("restart Claude Code sessions to pick up 9.9.9");
    expect(requests).toEqual(["/good/latest/SHA256SUMS", "/good/v9.9.9/SHA256SUMS", `/good/v9.9.9/${ASSET}`]);
    expect(versionOf(bin)).toBe("claudemesh 9.9.9");
    expect(sha(bin)).toBe(sha(join(rel("9.9.9"), fx.asset)));
    expect(sha(`${bin}.prev`)).toBe(old);
    expect(statSync(bin).mode & 0o777).toBe(0o750);
    expect(listing(dir)).toEqual(["claudemesh", "claudemesh.prev"]);

    const again = await upgrade(bin, ["--json"]);
    expect({ code: again.code, action: again.json().action, requests }).toEqual({ code: 0, action: "none", requests: ["/good/latest/SHA256SUMS", "/good/v9.9.9/SHA256SUMS"] });
    const upToDate = await upgrade(bin, ["--check"]);
    expect({ code: upToDate.code, out: upToDate.out }).toEqual({ code: 0, out: "claudemesh 9.9.9 is up to date (the latest release is 9.9.9).\n" });

    const back = await upgrade(bin, ["--rollback", "--json"]);
    expect({ code: back.code, action: back.json().action, from: back.json().from, to: back.json().to, requests }).toEqual({ code: 0, action: "rolled-back", from: "9.9.9", to: "1.0.0", requests: [] });
    expect(sha(bin)).toBe(old);
    expect(versionOf(`${bin}.prev`)).toBe("claudemesh 9.9.9");
    expect((await upgrade(bin, ["--rollback"])).code).toBe(0);
    expect(versionOf(bin)).toBe("claudemesh 9.9.9");
    expect(listing(dir)).toEqual(["claudemesh", "claudemesh.prev"]);
  }, SLOW);

  // Each: the release server's fault, the exit code and error code, and a word of the message.
  const refusals: [string, string[], string, number, string, string][] = [
    ["a checksum that does not match", [], "badsum", 5, "checksum_mismatch", `checksum mismatch for ${ASSET}`],
    ["no SHA256SUMS entry for this platform", [], "nosum", 5, "no_checksum", `has no entry for ${ASSET}; refusing to install an unverified file`],
    ["a version that does not exist (HTTP 404)", ["--version", "9.9.8"], "good", 4, "not_found", "no release 9.9.8 (HTTP 404 for"],
    ["a download cut off midway", ["--version", "9.9.9"], "cut", 6, "download_cut_short", "was cut short after"],
  ];
  for (const [what, args, root, code, errorCode, words] of refusals) {
    test(`${what}: exit ${code} (${errorCode}), the installed binary untouched, nothing left behind`, async () => {
      const { dir, bin, sha: old } = install();
      const r = await upgrade(bin, [...args, "--json"], root, root === "cut" ? { base: `http://127.0.0.1:${cut.port}/` } : {});
      const error = r.json().error;
      expect({ code: r.code, errorCode: error.code }).toEqual({ code, errorCode });
      expect(error.message).toContain(words);
      expect(error.message).toEndWith("nothing was changed");
      expect(sha(bin)).toBe(old);
      expect(listing(dir)).toEqual(["claudemesh"]);
    }, SLOW);
  }

  test("--rollback with no claudemesh.prev: exit 4, nothing changed", async () => {
    const { bin, sha: old } = install();
    const r = await upgrade(bin, ["--rollback"]);
    expect({ code: r.code, err: r.err.split("\n")[0] }).toEqual({ code: 4, err: `claudemesh: There is no ${bin}.prev to roll back to (claudemesh upgrade keeps one when it replaces a binary); nothing was changed` });
    expect(sha(bin)).toBe(old);
  }, SLOW);

  test("a Homebrew install (run through brew's link into Cellar/claudemesh/): hands over to brew, downloads nothing", async () => {
    const root = tempDir("cm-brew-");
    const cellar = join(root, "Cellar/claudemesh/1.0.0/bin");
    mkdirSync(cellar, { recursive: true });
    mkdirSync(join(root, "bin"));
    copyFileSync(join(rel("1.0.0"), fx.asset), join(cellar, "claudemesh"));
    chmodSync(join(cellar, "claudemesh"), 0o755);
    symlinkSync("../Cellar/claudemesh/1.0.0/bin/claudemesh", join(root, "bin/claudemesh"));
    const r = await upgrade(join(root, "bin/claudemesh"), []);
    expect({ code: r.code, err: r.err, requests }).toEqual({
      code: 5,
      err: `claudemesh: ${join(cellar, "claudemesh")} was installed by Homebrew, which replaces it itself; nothing was changed\n  fix: brew upgrade claudemesh (then restart the broker, if it runs here: brew services restart claudemesh)\n`,
      requests: [],
    });
    expect(listing(cellar)).toEqual(["claudemesh"]);
  }, SLOW);

  test.skipIf(!canSwitchUser)("a directory this user may not write: exit 3 with the sudo command, before any download", async () => {
    const { dir, bin, sha: old } = install();
    for (const d of [join(dir, ".."), dir]) chmodSync(d, 0o755);
    chmodSync(bin, 0o755);
    const r = await upgrade(bin, ["--version", "9.9.9"], "good", { prefix: ["env", `HOME=/nonexistent`, ...AS_SERVICE] });
    expect({ code: r.code, err: r.err, requests }).toEqual({
      code: 3,
      err: `claudemesh: ${dir} is not writable by this user, so ${bin} cannot be replaced; claudemesh never runs sudo itself, and nothing was changed\n  fix: sudo env CLAUDEMESH_DOWNLOAD_URL=${server.url.href}good ${bin} upgrade --version 9.9.9\n`,
      requests: [],
    });
    expect(sha(bin)).toBe(old);
    expect(SERVICE_UID).not.toBe(0);
  }, SLOW);
});
