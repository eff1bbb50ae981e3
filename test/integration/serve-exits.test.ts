// How `serve` refuses what a restart cannot change, and what its banner says
// (src/cli/serve-problems.ts ServeExit, src/cli/serve-banner.ts; docs/operations.md "Exit codes",
// "First run"). The systemd unit restarted every refusal (exit 1) every 5 s forever, re-running
// quick_check each time; now a port below 1024 without the capability, a read-only data directory
// and root on another user's data directory exit 77, which the unit does not restart (damaged and
// newer databases, 65, are pinned in serve-report, disk-corruption and audit-replay tests). A port
// below 1024 said only "Failed to listen at 127.0.0.1"; a read-only data directory said to choose
// another path (an empty broker beside the data); root's fix dropped the flags given and did not
// quote a path with a space. A wildcard host printed 0.0.0.0 links and no warning that the
// dashboard login then goes over plain HTTP; a log file others can read (a Homebrew service's, 644)
// received the operator token. Mounts and other users need root on Linux; those tests skip
// elsewhere.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { tempDir } from "../helpers/broker.ts";
import { cliEnv, MAIN, until } from "../helpers/cli.ts";
import { AS_SERVICE, canSwitchUser, run, serviceDir, SERVICE_UID as U } from "../helpers/service-user.ts";

const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

describe("refusals a restart cannot change exit 77 (EX_NOPERM)", () => {
  test.skipIf(!canSwitchUser)("a port below 1024 as a user without CAP_NET_BIND_SERVICE: the reason and both ways out; nothing made", async () => {
    const { dataDir, home } = serviceDir();
    const r = await run("service", ["serve", "--port", "80", "--data-dir", dataDir], home, { timeoutMs: 20_000 });
    expect({ code: r.code, stderr: r.stderr, made: readdirSync(dataDir) }).toEqual({
      code: 77,
      stderr:
        "claudemesh serve: cannot start: cannot listen on 127.0.0.1:80: permission denied: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability\n" +
        "  fix: listen on a high port (the default is 7900) behind a reverse proxy, or give the broker that capability (under systemd, a drop-in from systemctl edit claudemesh: AmbientCapabilities=CAP_NET_BIND_SERVICE and CapabilityBoundingSet=CAP_NET_BIND_SERVICE)\n",
      made: [],
    });
  }, 30_000);

  // The bound is net.ipv4.ip_unprivileged_port_start, which a container or an operator may raise:
  // port 1500 was refused with "a security policy such as SELinux?". The sysctl is per network
  // namespace, so the host's stays as it is.
  test.skipIf(!canSwitchUser || !Bun.which("unshare") || !Bun.which("ip"))("a port below a raised ip_unprivileged_port_start: the same reason, with that bound", async () => {
    const { dataDir, home } = serviceDir();
    const inNamespace = 'ip link set lo up && echo 2000 > /proc/sys/net/ipv4/ip_unprivileged_port_start && exec "$@"';
    const argv = ["unshare", "-n", "sh", "-c", inNamespace, "sh", ...AS_SERVICE, process.execPath, "run", MAIN, "serve", "--port", "1500", "--data-dir", dataDir];
    const proc = Bun.spawn(argv, { env: cliEnv(home, { HOME: home }), stdout: "ignore", stderr: "pipe", timeout: 20_000 });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect({ code, said: stderr.split("\n")[0], made: readdirSync(dataDir) }).toEqual({
      code: 77,
      said: "claudemesh serve: cannot start: cannot listen on 127.0.0.1:1500: permission denied: ports below 2000 need root or the CAP_NET_BIND_SERVICE capability",
      made: [],
    });
  }, 30_000);

  test.skipIf(!asRootOnLinux)("a data directory on a read-only file system: remount it, not another path; under systemd, ReadWritePaths=", async () => {
    const mnt = tempDir("cm-serve-exits-ro-");
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mnt]).exitCode).toBe(0);
    try {
      const said = `claudemesh serve: cannot start: cannot write ${mnt}/claudemesh.lock: the file system is read-only.\n  fix: remount the file system holding ${mnt} read-write (a broker needs to write in its data directory)`;
      const plain = await run("root", ["serve", "--port", "0", "--data-dir", mnt], tempDir("cm-serve-exits-home-"));
      expect({ code: plain.code, stderr: plain.stderr }).toEqual({ code: 77, stderr: `${said}\n` });
      const underSystemd = await run("root", ["serve", "--port", "0", "--data-dir", mnt], tempDir("cm-serve-exits-home-"), { env: { INVOCATION_ID: "0123456789abcdef" } });
      expect({ code: underSystemd.code, stderr: underSystemd.stderr }).toEqual({
        code: 77,
        stderr: `${said}; under systemd, ProtectSystem=strict makes every path read-only but those the unit names: add ReadWritePaths=${mnt} in a drop-in (systemctl edit claudemesh)\n`,
      });
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  }, 30_000);

  test.skipIf(!canSwitchUser)("root on the service user's directory: the fix runs the same serve as that user, flags and CLAUDEMESH_* settings kept, quoted", async () => {
    const { dataDir, home } = serviceDir();
    const spaced = join(dataDir, "sp ace");
    mkdirSync(spaced, { mode: 0o700 });
    chownSync(spaced, U, U);
    const config = join(tempDir("cm-serve-exits-cfg-"), "my broker.json");
    writeFileSync(config, "{}");
    // sudo drops the environment: CLAUDEMESH_HOST becomes --host.
    const r = await run("root", ["serve", "--data-dir", spaced, "--port", "0", "--config", config], home, { env: { CLAUDEMESH_HOST: "127.0.0.1" } });
    expect({ code: r.code, fix: r.stderr.split("\n")[1], made: readdirSync(spaced) }).toEqual({
      code: 77,
      fix: `  fix: run the broker as that user: sudo -u '#${U}' claudemesh serve --config '${config}' --host 127.0.0.1 --port 0 --data-dir '${spaced}' (under systemd: systemctl start claudemesh)`,
      made: [],
    });
  }, 30_000);
});

/** `serve --host 0.0.0.0` on a fresh data directory with its stderr appended to a log file of
 *  `mode`, until the first-run banner is there; then SIGTERM. Returns what follows the JSON lines. */
async function firstRunLog(mode: number): Promise<{ code: number; banner: string; dataDir: string; port: string }> {
  const dir = tempDir("cm-serve-exits-log-");
  const log = join(dir, "claudemesh.log");
  writeFileSync(log, "");
  chmodSync(log, mode);
  const fd = openSync(log, "a");
  const dataDir = join(dir, "data");
  const proc = Bun.spawn([process.execPath, "run", MAIN, "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", dataDir], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: fd,
    cwd: dir, // outside the checkout: the banner names src/main.ts by its absolute path
    env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" },
  });
  closeSync(fd);
  try {
    // The banner is one write: complete once its token section is there.
    await until(() => readFileSync(log, "utf8").includes("Operator token for the dashboard"), "the first-run banner in the log", 30_000);
  } finally {
    proc.kill("SIGTERM");
  }
  const code = await proc.exited;
  const text = readFileSync(log, "utf8");
  const port = /"broker listening","url":"http:\/\/0\.0\.0\.0:(\d+)"/.exec(text)![1]!;
  return { code, banner: text.split("\n").filter((l) => !l.startsWith("{")).join("\n"), dataDir, port };
}

describe("the banner of a broker on every interface", () => {
  test("addresses people can use, the plain-HTTP warning, and the token withheld from a log others can read", async () => {
    const { code, banner, dataDir, port } = await firstRunLog(0o644);
    const cli = `bun run ${MAIN}`;
    expect({ code, banner }).toEqual({
      code: 0,
      banner: [
        `claudemesh ${VERSION} is serving http://0.0.0.0:${port}`,
        `  data dir   ${dataDir}`,
        `  dashboard  http://<this machine's address>:${port}/`,
        `  API docs   http://<this machine's address>:${port}/docs`,
        `  websocket  ws://<this machine's address>:${port}/ws`,
        `  health     http://127.0.0.1:${port}/health/ready`,
        "warning: listening on every interface (0.0.0.0) over plain HTTP: the dashboard's operator login would cross the network unencrypted; serve TLS itself (--tls-cert and --tls-key) or put a TLS proxy in front, and set --public-url https://…; or listen on 127.0.0.1",
        "",
        "First start on this data directory. Create the first mesh (on the machine you work on):",
        `  ${cli} new my-team --broker http://<this machine's address>:${port}`,
        `then \`${cli} invite\` for teammates and \`${cli} install\` to connect Claude Code.`,
        "Set --public-url (or CLAUDEMESH_PUBLIC_URL) to the address clients use.",
        "",
        "Operator token for the dashboard: withheld, because this log file (stderr, mode 644) is readable by other users.",
        `Issue one with \`${cli} admin token --data-dir ${dataDir}\` (it replaces the one made now), and make the log private (chmod 600).`,
        "",
      ].join("\n"),
    });
  }, 45_000);

  test("a private log file (600) gets the token, as a terminal, a pipe or the journal does", async () => {
    const { code, banner } = await firstRunLog(0o600);
    expect({ code, token: banner.match(/Operator token for the dashboard \(shown once; keep it; [^\n]+\):\n {2}cmo_[A-Za-z0-9_-]+\n/) !== null }).toEqual({ code: 0, token: true });
  }, 45_000);
});
