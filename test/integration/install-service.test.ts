// install.sh --service and the install directory it puts into the unit: refused where the unit's
// ProtectHome=yes or PrivateTmp=yes would hide the binary from the service, or where ExecStart=
// would read the path as something else (systemd.service(5) "Command lines", systemd.syntax(7)
// "Quoting"); a path with spaces is quoted so systemd-analyze accepts it; every refusal comes
// before anything is downloaded or written. install.sh runs as a subprocess against a small
// release served over HTTP whose "binary" is a shell script (install-sh.test.ts installs the real
// one).
//
// For --service to get past "needs systemd", the installer runs in a private mount namespace
// (unshare -m): /run is a tmpfs holding /run/systemd/system; /etc, /var/lib, /var/tmp, /home and
// /root are overlays whose upper directories record every write; /opt is a scratch directory;
// systemctl is a stub that logs its arguments. That needs root, unshare and overlayfs, and is
// skipped without them. The whole file takes about a second.
import { beforeAll, afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileServer } from "../helpers/file-server.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");
const INSTALL = join(ROOT, "install.sh");
const UNIT = readFileSync(join(ROOT, "packaging/claudemesh.service"), "utf8");
const work = tempDir("cm-service-");

// --- releases: whole/ is complete, nounit/ lacks the unit, oddunit/ has no ExecStart= to rewrite
const body = join(work, "install-body.sh"); // install.sh without its `main "$@"`
writeFileSync(body, readFileSync(INSTALL, "utf8").trimEnd().split("\n").slice(0, -1).join("\n") + "\n");
const asset = `claudemesh-${Bun.spawnSync(["sh", "-c", `. ${body}; detect_target`]).stdout.toString().trim()}`;
const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

function publish(name: string, files: Record<string, string>) {
  const dir = join(work, "rel", name, "latest");
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  writeFileSync(join(dir, "SHA256SUMS"), Object.entries(files).map(([file, text]) => `${sha256(text)}  ${file}\n`).join(""));
}
const binary = '#!/bin/sh\necho "claudemesh 1.0.0"\n';
publish("whole", { [asset]: binary, "claudemesh.service": UNIT });
publish("nounit", { [asset]: binary });
// newunit/ changes only the unit; newer/ then changes only the binary.
publish("newunit", { [asset]: binary, "claudemesh.service": `${UNIT}# changed\n` });
publish("newer", { [asset]: binary.replace("1.0.0", "1.0.1"), "claudemesh.service": `${UNIT}# changed\n` });
publish("oddunit", { [asset]: binary, "claudemesh.service": UNIT.replace("ExecStart=/usr/local/bin/claudemesh serve", "ExecStart=/usr/bin/claudemesh serve") });

const requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  server = fileServer(requests, (path) => (path.startsWith("/rel/") && existsSync(join(work, path)) ? join(work, path) : undefined));
});
afterAll(() => server.stop(true));

// --- running the installer -------------------------------------------------------------------
type Run = { code: number; out: string; err: string; requests: string[] };
/** Every path under <dir>, not following symlinks. */
const listing = (dir: string): string[] => (existsSync(dir) ? Bun.spawnSync(["find", dir, "-mindepth", "1", "-printf", "%P\n"]).stdout.toString().split("\n").filter(Boolean).sort() : []);

async function spawn(argv: string[], env: Record<string, string>, cwd?: string): Promise<Run> {
  requests.length = 0;
  const p = Bun.spawn(argv, { cwd, env: { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", SHELL: "/bin/bash", ...env }, stdout: "pipe", stderr: "pipe", timeout: 50_000 });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err, requests: [...requests] };
}
const release = (name: string) => `${server.url}rel/${name}`;

/** A mount namespace as described in the header; its upper directories outlive each run. */
function sandbox() {
  const root = tempDir("cm-sandbox-");
  const overlays = ["/etc", "/var/lib", "/home", "/root", "/var/tmp"];
  const upper = (dir: string) => join(root, "upper", dir);
  const stubs = join(root, "stubs");
  for (const dir of [...overlays.flatMap((d) => [upper(d), join(root, "work", d)]), join(root, "opt"), stubs, join(root, "home")]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(stubs, "systemctl"), `#!/bin/sh\necho "$*" >>"${root}/systemctl.log"\n[ "$1" != is-active ] || [ -e "${root}/active" ]\n`, { mode: 0o755 });
  const mounts = [
    "set -e",
    "mount -t tmpfs tmpfs /run",
    "mkdir -p /run/systemd/system",
    ...overlays.map((d) => `mount -t overlay overlay -o lowerdir=${d},upperdir=${upper(d)},workdir=${join(root, "work", d)} ${d}`),
    `mount --bind ${root}/opt /opt`,
    "set +e",
  ].join("\n");
  /** install.sh with args, then `after` (a shell line) inside the same namespace; `as` a prefix such as setpriv. */
  const run = (args: string[], env: Record<string, string>, opts: { after?: string; as?: string[] } = {}) =>
    spawn(["unshare", "-m", "sh", "-c", `${mounts}\n"$@"; code=$?; ${opts.after ?? ":"}; exit $code`, "sh", ...(opts.as ?? []), "sh", INSTALL, ...args], {
      PATH: `${stubs}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      HOME: join(root, "home"),
      CLAUDEMESH_DOWNLOAD_URL: release("whole"),
      ...env,
    });
  const systemctl = () => (existsSync(join(root, "systemctl.log")) ? readFileSync(join(root, "systemctl.log"), "utf8").trimEnd().split("\n") : []);
  /** Everything the runs wrote outside the test's own directories. */
  const written = () => ({ ...Object.fromEntries(overlays.map((d) => [d, listing(upper(d))])), "/opt": listing(join(root, "opt")), systemctl: systemctl() });
  return { root, upper, run, systemctl, written };
}

const canSandbox = process.getuid?.() === 0 && Bun.spawnSync(["unshare", "-m", "sh", "-c", `mount -t tmpfs tmpfs /mnt && mkdir /mnt/u /mnt/w && mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/u,workdir=/mnt/w /mnt`]).exitCode === 0;
const nothing = { "/etc": [], "/var/lib": [], "/home": [], "/root": [], "/var/tmp": [], "/opt": [], systemctl: [] };
const FIX = "use a directory such as /usr/local/bin (as root without CLAUDEMESH_INSTALL_DIR it installs there), or drop --service";

describe.skipIf(!canSandbox)("install.sh --service, in a mount namespace with systemd stubbed", () => {
  test.each([
    ["/home/alice/bin", "--service cannot run claudemesh from /home/alice/bin: the unit's ProtectHome=yes hides /home, /root and /run/user from the service"],
    ["/root/.local/bin/", "--service cannot run claudemesh from /root/.local/bin: the unit's ProtectHome=yes"],
    ["/run/user/0/bin", "--service cannot run claudemesh from /run/user/0/bin: the unit's ProtectHome=yes"],
    ["/var/tmp/cm", "--service cannot run claudemesh from /var/tmp/cm: the unit's PrivateTmp=yes gives the service its own empty /tmp and /var/tmp"],
    ["/opt/root-link", "--service cannot run claudemesh from /root: the unit's ProtectHome=yes"],
    ["/opt/100%/bin", "--service cannot write '/opt/100%/bin' into the unit's ExecStart=: systemd gives $, %, quotes, backslashes"],
    ["/opt/$HOME/bin", "--service cannot write '/opt/$HOME/bin' into the unit's ExecStart="],
    ['/opt/a"b', `--service cannot write '/opt/a"b' into the unit's ExecStart=`],
    ["/opt/a\\b", "--service cannot write '/opt/a\\b' into the unit's ExecStart="],
    ["/opt/a\tb", "--service cannot write '/opt/a\tb' into the unit's ExecStart="],
  ])("CLAUDEMESH_INSTALL_DIR=%j is refused with the reason and the fix, before anything is downloaded or written", async (dir, reason) => {
    const sb = sandbox();
    if (dir === "/opt/root-link") symlinkSync("/root", join(sb.root, "opt", "root-link"));
    const r = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: dir });
    expect({ code: r.code, requests: r.requests, out: r.out }).toEqual({ code: 1, requests: [], out: "" });
    expect(r.err).toContain(reason);
    expect(r.err).toContain(FIX);
    expect(sb.written()).toEqual({ ...nothing, "/opt": dir === "/opt/root-link" ? ["root-link"] : [] });
  });

  test("an install directory under /tmp is refused (PrivateTmp=yes); --dry-run says so and plans no download", async () => {
    const sb = sandbox();
    const dir = join(sb.root, "bin");
    const dry = await sb.run(["--service", "--dry-run"], { CLAUDEMESH_INSTALL_DIR: dir });
    expect({ code: dry.code, requests: dry.requests }).toEqual({ code: 0, requests: [] });
    expect(dry.out).toContain(`--service would stop before downloading or changing anything: --service cannot run claudemesh from ${dir}: the unit's PrivateTmp=yes`);
    expect(dry.out).not.toContain("would download");
    const r = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: dir });
    expect({ code: r.code, requests: r.requests }).toEqual({ code: 1, requests: [] });
    expect(r.err).toContain(`--service cannot run claudemesh from ${dir}: the unit's PrivateTmp=yes`);
    expect([existsSync(dir), sb.written()]).toEqual([false, nothing]);
  });

  test("a directory with spaces: ExecStart= quotes it, systemd-analyze verify accepts the unit, the output says what was done; --uninstall --service undoes it", async () => {
    const sb = sandbox();
    const dir = "/opt/claude mesh/bin";
    const verify = `systemd-analyze verify /etc/systemd/system/claudemesh.service >"${sb.root}/verify" 2>&1; echo "exit $?" >>"${sb.root}/verify"`;
    const r = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: dir }, { after: Bun.which("systemd-analyze") ? verify : ":" });
    if (Bun.which("systemd-analyze")) expect(readFileSync(join(sb.root, "verify"), "utf8")).toBe("exit 0\n");
    const unit = readFileSync(join(sb.upper("/etc"), "systemd/system/claudemesh.service"), "utf8");
    expect(unit).toBe(UNIT.replace("ExecStart=/usr/local/bin/claudemesh serve", `ExecStart="${dir}/claudemesh" serve`));
    // The unit is fetched and checked before the binary is touched.
    expect({ code: r.code, requests: r.requests }).toEqual({ code: 0, requests: ["/rel/whole/latest/SHA256SUMS", "/rel/whole/latest/claudemesh.service", `/rel/whole/latest/${asset}`] });
    expect(readFileSync(join(sb.root, "opt/claude mesh/bin/claudemesh"), "utf8")).toBe(binary);
    expect(readFileSync(join(sb.upper("/etc"), "passwd"), "utf8")).toMatch(/^claudemesh:x:\d+:\d+::\/var\/lib\/claudemesh:\/usr\/sbin\/nologin$/m);
    expect(statSync(join(sb.upper("/var/lib"), "claudemesh")).mode & 0o777).toBe(0o700);
    expect(sb.systemctl()).toEqual(["daemon-reload", "is-active --quiet claudemesh", "enable --now claudemesh"]);
    for (const line of [
      `claudemesh 1.0.0 installed to ${dir}/claudemesh`,
      "created the system user claudemesh",
      "claudemesh.service is enabled and started; data in /var/lib/claudemesh",
      // What an operator sets next, in the unit's terms rather than serve's flags (session 36).
      "  settings: /etc/default/claudemesh, one CLAUDEMESH_*=value per line: CLAUDEMESH_PUBLIC_URL, and for TLS without a proxy CLAUDEMESH_HOST=0.0.0.0, CLAUDEMESH_TLS_CERT, CLAUDEMESH_TLS_KEY (docs/operations.md); then systemctl restart claudemesh",
      `  undo:    curl -fsSL <install.sh URL> | sudo CLAUDEMESH_INSTALL_DIR='${dir}' CLAUDEMESH_DOWNLOAD_URL='${release("whole")}' sh -s -- --uninstall --service`,
    ])
      expect(r.out).toContain(line);
    expect(r.out).not.toContain("restarted");

    // The same again while the service runs: nothing changed, so no restart.
    writeFileSync(join(sb.root, "active"), "");
    const again = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: dir });
    expect({ code: again.code, requests: again.requests }).toEqual({ code: 0, requests: ["/rel/whole/latest/SHA256SUMS", "/rel/whole/latest/claudemesh.service"] });
    expect(sb.systemctl().slice(3)).toEqual(["daemon-reload", "is-active --quiet claudemesh", "enable --now claudemesh"]);

    const un = await sb.run(["--uninstall", "--service"], { CLAUDEMESH_INSTALL_DIR: dir });
    expect(un.code).toBe(0);
    expect(un.out).toContain(`removed ${dir}/claudemesh`);
    expect([listing(join(sb.upper("/etc"), "systemd/system")), listing(join(sb.root, "opt/claude mesh/bin"))]).toEqual([[], []]);
  });

  test("a running service is restarted after the unit or the binary changed", async () => {
    const sb = sandbox();
    const env = { CLAUDEMESH_INSTALL_DIR: "/opt/cm/bin" };
    expect((await sb.run(["--service"], env)).code).toBe(0);
    writeFileSync(join(sb.root, "active"), "");
    const RESTART = ["daemon-reload", "is-active --quiet claudemesh", "enable --now claudemesh", "restart claudemesh"];
    const restarted = "restarted claudemesh.service on the new binary or unit\n";
    for (const name of ["newunit", "newer"]) {
      const before = sb.systemctl().length;
      const r = await sb.run(["--service"], { ...env, CLAUDEMESH_DOWNLOAD_URL: release(name) });
      expect({ code: r.code, systemctl: sb.systemctl().slice(before), restarted: r.out.includes(restarted) }).toEqual({ code: 0, systemctl: RESTART, restarted: true });
    }
    expect(readFileSync(join(sb.root, "opt/cm/bin/claudemesh"), "utf8")).toContain("claudemesh 1.0.1");
  });

  test.each([
    ["nounit", "a release without claudemesh.service", "cannot download"],
    ["oddunit", "a unit with no ExecStart= line to point at the install directory", "has no 'ExecStart=/usr/local/bin/claudemesh serve' line"],
  ])("%s (%s): stops with nothing installed, neither the binary nor the user", async (name, _what, reason) => {
    const sb = sandbox();
    const r = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: "/opt/cm/bin", CLAUDEMESH_DOWNLOAD_URL: release(name) });
    expect({ code: r.code, written: sb.written() }).toEqual({ code: 1, written: nothing });
    expect(r.err).toContain(reason);
    expect(r.err).toContain("nothing was installed");
    expect(r.out).not.toContain("installed to");
  });

  test.skipIf(!Bun.which("setpriv"))("not root: says to re-run with sudo, keeping CLAUDEMESH_INSTALL_DIR (sudo drops the environment) once that directory would do", async () => {
    const sb = sandbox();
    chmodSync(sb.root, 0o755);
    const nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    // The default for this user is ~/.local/bin, but as root it would be /usr/local/bin: only root is missing.
    const plain = await sb.run(["--service"], {}, { as: nobody });
    expect({ code: plain.code, requests: plain.requests }).toEqual({ code: 1, requests: [] });
    expect(plain.err).toContain(`which needs root. This installer never runs sudo by itself; re-run: curl -fsSL <install.sh URL> | sudo CLAUDEMESH_DOWNLOAD_URL='${release("whole")}' sh -s -- --service\n`);
    const home = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: "/home/alice/bin" }, { as: nobody });
    expect({ code: home.code, err: home.err }).toEqual({ code: 1, err: expect.stringContaining("the unit's ProtectHome=yes") });
    const r = await sb.run(["--service"], { CLAUDEMESH_INSTALL_DIR: "/opt/cm" }, { as: nobody });
    expect({ code: r.code, requests: r.requests }).toEqual({ code: 1, requests: [] });
    expect(r.err).toContain("which needs root. This installer never runs sudo by itself; re-run: curl -fsSL <install.sh URL> | sudo CLAUDEMESH_INSTALL_DIR='/opt/cm' CLAUDEMESH_DOWNLOAD_URL=");
    expect(r.err).toContain(" sh -s -- --service");
    expect(sb.written()).toEqual(nothing);
  });
});

describe("install.sh, no namespace needed", () => {
  test("--service without systemd refuses before changing anything; --dry-run says why", async () => {
    const home = tempDir("cm-service-home-");
    const env = { HOME: home, CLAUDEMESH_INSTALL_DIR: join(home, "bin"), CLAUDEMESH_DOWNLOAD_URL: release("whole") };
    const hasSystemd = existsSync("/run/systemd/system");
    const dry = await spawn(["sh", INSTALL, "--service", "--dry-run"], env);
    expect({ code: dry.code, requests: dry.requests }).toEqual({ code: 0, requests: [] });
    expect(dry.out).toContain("--service would stop before downloading or changing anything");
    if (hasSystemd) return; // the real path is not run on a machine with systemd from a test
    const r = await spawn(["sh", INSTALL, "--service"], env);
    expect({ code: r.code, requests: r.requests }).toEqual({ code: 1, requests: [] });
    expect(r.err).toContain("--service needs systemd as the running init system");
    expect(listing(home)).toEqual([]);
  });

  test("a relative CLAUDEMESH_INSTALL_DIR is refused (it would install wherever the shell happened to be and put a relative entry in PATH)", async () => {
    const cwd = tempDir("cm-relative-");
    const home = tempDir("cm-relative-home-");
    const r = await spawn(["sh", INSTALL], { HOME: home, CLAUDEMESH_INSTALL_DIR: "bin", CLAUDEMESH_DOWNLOAD_URL: release("whole") }, cwd);
    expect({ code: r.code, requests: r.requests, out: r.out }).toEqual({ code: 1, requests: [], out: "" });
    expect(r.err).toContain("CLAUDEMESH_INSTALL_DIR must be an absolute path, not 'bin'; for example CLAUDEMESH_INSTALL_DIR=$HOME/.local/bin");
    expect([listing(cwd), listing(home)]).toEqual([[], []]);
  });
});
