// The installer contract, against the release as a user gets it (test/helpers/release-fixture.ts:
// `bun run release` builds the native target twice, as 1.0.0 and 0.9.0, served the way GitHub
// serves release assets; install.sh runs against it with a fresh HOME): checksum before anything
// moves, fail closed, idempotent, version pin, uninstall, dry run, cut-off download runs nothing,
// never sudo. The installed binary's serve lifecycle is in install-binary.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TARGETS } from "../../scripts/release.ts";
import { tempDir } from "../helpers/broker.ts";
import { INSTALL, listing, releaseFixture, SLOW, versionOf } from "../helpers/release-fixture.ts";

const fx = releaseFixture();
const { work, rel, native, routes, scratch, installer, freshHome, run } = fx;
let asset = fx.asset;
let releaseSummary: { built: { target: string }[]; skipped: { target: string; reason: string; runtime: string; howToSupply: string | null }[] };
const cross = TARGETS.find((t) => t !== native && t.os !== native.os)!;

beforeAll(async () => {
  const emptyCache = join(work, "empty-bun-cache");
  mkdirSync(emptyCache);
  // 1.0.0 also asks for a cross target with no way to get Bun's runtime for it (empty cache, a
  // proxy that refuses): it must be skipped with a message, and the native build still made.
  const offline = { BUN_INSTALL_CACHE_DIR: emptyCache, HTTPS_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9" };
  [releaseSummary] = await Promise.all([fx.build("1.0.0", `native,${cross.name}`, offline), fx.build("0.9.0", "native")]);
  fx.serve(["1.0.0", "0.9.0"], "1.0.0");
  asset = fx.asset;

  // Broken releases: a wrong hash, no entry for the asset, a download cut short.
  const sums = readFileSync(join(rel("1.0.0"), "SHA256SUMS"), "utf8");
  const bad = (name: string, text: string) => {
    mkdirSync(join(work, name), { recursive: true });
    writeFileSync(join(work, name, "SHA256SUMS"), text);
    routes.set(`/${name}/latest/SHA256SUMS`, join(work, name, "SHA256SUMS"));
    routes.set(`/${name}/latest/${asset}`, join(rel("1.0.0"), asset));
  };
  bad("tampered", sums.replace(new RegExp(`^[0-9a-f]{64}(  ${asset})$`, "m"), `${"0".repeat(64)}$1`));
  bad("nosum", sums.split("\n").filter((l) => !l.endsWith(`  ${asset}`)).join("\n"));
  bad("corrupt", sums);
  writeFileSync(join(work, "corrupt", asset), readFileSync(join(rel("1.0.0"), asset)).subarray(0, 1 << 20));
  routes.set(`/corrupt/latest/${asset}`, join(work, "corrupt", asset));
}, 120_000);

afterAll(() => fx.cleanup(), 120_000); // over a gigabyte to delete, on a shared disk

const MARK = "# added by the claudemesh installer";

describe("bun run release", () => {
  test("builds the native target with the version baked in, skips a target it has no runtime for, and says what to supply", () => {
    expect(releaseSummary.built.map((b) => b.target)).toEqual([native.name]);
    expect(releaseSummary.skipped).toEqual([
      {
        target: cross.name,
        reason: expect.stringContaining("could not download it"),
        runtime: expect.stringMatching(new RegExp(`^bun-${cross.os}-.*-v${Bun.version}$`)),
        howToSupply: expect.stringContaining("--runtimes <dir>"),
      },
    ]);
    expect(versionOf(join(rel("1.0.0"), `claudemesh-${native.name}`))).toBe("claudemesh 1.0.0");
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: rel("0.9.0") });
    expect(check.exitCode).toBe(0);
    expect(check.stdout.toString().trim().split("\n").sort()).toEqual([`claudemesh-${native.name}: OK`, "claudemesh.service: OK", "install.sh: OK"]);
  }, SLOW);
});

describe("install.sh", () => {
  test("fresh HOME: installs the latest release after verifying it, adds the directory to PATH once; re-runs download nothing", async () => {
    const h = freshHome();
    const first = await run(h);
    expect(first).toMatchObject({ code: 0, requests: ["/rel/latest/SHA256SUMS", `/rel/latest/${asset}`] });
    expect(first.out).toContain(`claudemesh 1.0.0 installed to ${h.dir}/claudemesh (SHA-256 matches the release's SHA256SUMS)`);
    expect(first.out).toContain("claudemesh serve");
    expect(first.out).toContain("claudemesh install");
    // As README, `invite` and `join --help` say: the link read from stdin, never an argument ps shows.
    expect(first.out).toContain("\n  claudemesh join -   ");
    expect(first.out).not.toContain("invite link>");
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
    expect(listing(h.dir)).toEqual(["claudemesh"]);
    const bashrc = () => readFileSync(join(h.home, ".bashrc"), "utf8").split("\n").filter((l) => l.includes(MARK));
    expect(bashrc()).toEqual([`export PATH="${h.dir}:$PATH" ${MARK}`]);

    // Latest again: only the checksum list, to learn that the installed file is the latest.
    const again = await run(h);
    expect(again).toMatchObject({ code: 0, requests: ["/rel/latest/SHA256SUMS"] });
    expect(again.out).toContain("already the latest release");
    // A pinned version that is already installed: nothing at all.
    const pinned = await run(h, ["--version", "1.0.0"]);
    expect(pinned).toMatchObject({ code: 0, requests: [] });
    expect(pinned.out).toContain("claudemesh 1.0.0 is already installed");
    expect(bashrc().length).toBe(1);
  }, SLOW);

  test("a pinned version installs that version (CLAUDEMESH_VERSION or --version, with or without v)", async () => {
    const h = freshHome();
    const old = await run(h, ["--no-modify-path"], { CLAUDEMESH_VERSION: "0.9.0" });
    expect(old).toMatchObject({ code: 0, requests: ["/rel/v0.9.0/SHA256SUMS", `/rel/v0.9.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
    expect(existsSync(join(h.home, ".bashrc"))).toBe(false);
    const up = await run(h, ["--version", "v1.0.0", "--no-modify-path"]);
    expect(up).toMatchObject({ code: 0, requests: ["/rel/v1.0.0/SHA256SUMS", `/rel/v1.0.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
    const missing = await run(h, ["--version", "7.7.7"]);
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining("cannot download") });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 1.0.0");
  }, SLOW);

  test.each([
    ["a tampered checksum", "tampered", "checksum mismatch"],
    ["no checksum for the asset", "nosum", "SHA256SUMS has no entry"],
    ["a download cut short", "corrupt", "checksum mismatch"],
  ])("%s fails closed: non-zero, nothing installed", async (_name, root, message) => {
    const h = freshHome();
    const r = await run(h, [], {}, { root });
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(r.out).not.toContain("installed to");
    expect(listing(h.dir)).toEqual([]);
  }, SLOW);

  test("a failed upgrade leaves the installed version in place and no staged file behind", async () => {
    const h = freshHome();
    mkdirSync(h.dir);
    copyFileSync(join(rel("0.9.0"), asset), join(h.dir, "claudemesh"));
    const r = await run(h, [], {}, { root: "tampered" });
    expect(r.code).toBe(1);
    expect(listing(h.dir)).toEqual(["claudemesh"]);
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
  }, SLOW);

  test.skipIf(!Bun.which("wget"))("downloads with wget where curl is missing", async () => {
    // A PATH with every command of the system except curl.
    const bin = tempDir("cm-no-curl-");
    scratch.push(bin);
    for (const d of ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) if (f !== "curl" && !existsSync(join(bin, f))) symlinkSync(join(d, f), join(bin, f));
    }
    const h = freshHome();
    const r = await run(h, ["--version", "0.9.0", "--no-modify-path"], { PATH: bin });
    expect(r).toMatchObject({ code: 0, requests: ["/rel/v0.9.0/SHA256SUMS", `/rel/v0.9.0/${asset}`] });
    expect(versionOf(join(h.dir, "claudemesh"))).toBe("claudemesh 0.9.0");
  }, SLOW);

  test("fetch uses BusyBox wget (Alpine: no curl, no --https-only) for an https URL", () => {
    // A stand-in with BusyBox's surface: its --help has no --https-only, and it refuses that option.
    const bin = tempDir("cm-busybox-");
    scratch.push(bin);
    const out = join(bin, "downloaded");
    writeFileSync(
      join(bin, "wget"),
      `#!/bin/sh\ncase " $* " in *" --help "*) echo "Usage: wget [-cqS] [-O FILE] URL"; exit 0;; *" --https-only "*) echo "wget: unrecognized option '--https-only'" >&2; exit 1;; esac\nwhile [ $# -gt 1 ]; do [ "$1" = -O ] && o=$2; shift; done\necho "body of $1" > "$o"\n`,
      { mode: 0o755 },
    );
    for (const tool of ["sh", "grep", "cat", "dirname"]) if (Bun.which(tool)) symlinkSync(Bun.which(tool)!, join(bin, tool));
    const body = join(work, "install-body.sh"); // install.sh without its `main "$@"` (release-fixture.ts serve)
    const r = Bun.spawnSync(["sh", "-c", `. ${body}; fetch https://example.invalid/SHA256SUMS ${out} && cat ${out}`], { env: { PATH: bin } });
    expect({ code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }).toEqual({ code: 0, out: "body of https://example.invalid/SHA256SUMS\n", err: "" });
  });

  test("--uninstall removes the binary and the PATH line, and says so when there is nothing left", async () => {
    const h = freshHome();
    expect((await run(h)).code).toBe(0);
    const r = await run(h, ["--uninstall"]);
    expect(r).toMatchObject({ code: 0, requests: [] });
    expect(r.out).toContain(`removed ${h.dir}/claudemesh`);
    expect(listing(h.dir)).toEqual([]);
    expect(readFileSync(join(h.home, ".bashrc"), "utf8")).not.toContain(MARK);
    expect((await run(h, ["--uninstall"])).out).toContain(`no claudemesh in ${h.dir}`);
  }, SLOW);

  test("--dry-run prints the plan and changes nothing, for install and uninstall", async () => {
    const h = freshHome();
    const before = listing(h.home);
    const r = await run(h, ["--dry-run"]);
    expect(r).toMatchObject({ code: 0, requests: [] });
    expect(r.out).toContain(`would download ${fx.url}rel/latest/${asset}`);
    expect(r.out).toContain(`would add to ${h.home}/.bashrc`);
    expect(listing(h.home)).toEqual(before);
    mkdirSync(h.dir);
    copyFileSync(join(rel("1.0.0"), asset), join(h.dir, "claudemesh"));
    const un = await run(h, ["--uninstall", "--dry-run"]);
    expect(un).toMatchObject({ code: 0, requests: [] });
    expect(un.out).toContain(`would remove ${h.dir}/claudemesh`);
    expect(listing(h.dir)).toEqual(["claudemesh"]);
  }, SLOW);

  test("a download of the script cut off anywhere runs nothing (head -c N install.sh | sh)", async () => {
    const text = readFileSync(INSTALL);
    const lastLine = Buffer.byteLength('main "$@"\n');
    // Every 5 % of the file, and cuts inside the last line. (Not exactly after `main` or before
    // the final newline: those are the whole script.)
    const cuts = [...Array.from({ length: 20 }, (_, i) => Math.floor((text.length * i) / 20)), text.length - lastLine, text.length - lastLine + 3, text.length - 3];
    for (const n of cuts) {
      const h = freshHome();
      const r = await installer([], { HOME: h.home, CLAUDEMESH_INSTALL_DIR: h.dir }, { argv0: ["sh"], stdin: new Uint8Array(text.subarray(0, n)) });
      expect({ n, requests: r.requests, home: listing(h.home), out: r.out }).toEqual({ n, requests: [], home: [], out: "" });
    }
  }, SLOW);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))("without HOME (env -i) it installs, then says how to add the directory to PATH instead of failing", async () => {
    // It used to install the binary and then stop with "HOME: parameter not set" (exit 2) before
    // the PATH step, leaving --service half done. Run as nobody, whose home does not exist.
    const h = freshHome();
    Bun.spawnSync(["chmod", "777", h.home]);
    const r = await installer([], { CLAUDEMESH_INSTALL_DIR: h.dir, PATH: "/usr/bin:/bin" }, {
      argv0: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s", "--"],
      stdin: readFileSync(INSTALL, "utf8"),
    });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: expect.not.stringContaining("HOME") });
    expect(r.out).toContain(`${h.dir} is not on your PATH (no writable home, so no shell profile was changed); add it: export PATH="${h.dir}:$PATH"`);
    expect(versionOf(join(h.dir, "claudemesh"))).toMatch(/^claudemesh /);
  }, SLOW);

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))("an install directory it cannot write: says how to use sudo, never runs it", async () => {
    const h = freshHome();
    const shim = tempDir("cm-sudo-shim-");
    scratch.push(shim);
    const marker = join(shim, "sudo-was-called");
    writeFileSync(join(shim, "sudo"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    mkdirSync(h.dir, { mode: 0o755 }); // root's, not writable by nobody
    Bun.spawnSync(["chmod", "777", h.home]);
    const r = await installer([], { HOME: h.home, CLAUDEMESH_INSTALL_DIR: h.dir, PATH: `${shim}:/usr/bin:/bin` }, {
      argv0: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s", "--"],
      stdin: readFileSync(INSTALL, "utf8"),
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain("is not writable");
    expect(r.err).toContain("never runs sudo by itself");
    expect(r.requests).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(listing(h.dir)).toEqual([]);
  }, SLOW);
});
