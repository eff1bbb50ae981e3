// Your own file or directory that you are refused: the user IS the owner, so when its mode shuts
// the owner out the fix is the chmod that gives the owner access, not "run claudemesh as the user
// that owns it"; when its mode already lets the owner in (an immutable flag, a security policy),
// no chmod is offered, since it would not help. Modes read as ls -l and chmod write them (000, not
// 0). Linux, as root, with setpriv: the CLI runs as another uid (helpers/service-user.ts), since
// root reads any file and no mode stops it. The immutable case needs chattr and the capability.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AS_SERVICE, canSwitchUser, run, serviceDir, SERVICE_UID as U } from "../helpers/service-user.ts";
import { CONFIG_VERSION } from "../../src/client/local/config-file.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** Whether `chattr +i` works here (CAP_LINUX_IMMUTABLE, a file system with the flag). */
function chattr(flag: "+i" | "-i", path: string): boolean {
  return Bun.which("chattr") !== null && Bun.spawnSync(["chattr", flag, path], { stderr: "ignore" }).exitCode === 0;
}
const canMakeImmutable = canSwitchUser && ((dir) => chattr("+i", dir) && chattr("-i", dir))(tempDir("cm-chattr-"));

const notTheMode = (p: string) => `the mode of ${p} is not the reason: look for an immutable flag (lsattr -d ${p}), an ACL (getfacl ${p}) or a security policy such as SELinux or AppArmor`;

describe.skipIf(!canSwitchUser)("your own file or directory refused to you", () => {
  test("config.json at mode 000 is named as yours with its octal mode, and the fix is chmod 600, which works", async () => {
    const { home } = serviceDir();
    const config = join(home, "config.json");
    writeFileSync(config, JSON.stringify({ version: CONFIG_VERSION, meshes: [] }));
    chownSync(config, U, U);
    chmodSync(config, 0o000);
    const r = await run("service", ["peers"], home);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 5,
      stderr: `claudemesh: Cannot read the claudemesh config ${config}: permission denied (${config} is yours, mode 000).\n  fix: chmod 600 ${config}\n`,
    });
    chmodSync(config, 0o600); // the fix, as printed
    const after = await run("service", ["peers"], home);
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 4, stderr: expect.stringContaining("You have not joined any mesh") });
  }, 30_000);

  test("chmod only where the owner's bits lack the access: a read, a path through a directory, a new file under a missing directory, a read-only file written in place", async () => {
    const { home } = serviceDir();
    const own = (path: string, mode: number) => (chownSync(path, U, U), chmodSync(path, mode), path);
    const readable = own((writeFileSync(join(home, "readable.json"), "{}"), join(home, "readable.json")), 0o600);
    const writeOnly = own((writeFileSync(join(home, "write-only.json"), "{}"), join(home, "write-only.json")), 0o200);
    const shut = own((mkdirSync(join(home, "shut")), join(home, "shut")), 0o600);
    // A file written in place (the broker's database): its own mode, not its directory's, refuses.
    const readOnly = own((writeFileSync(join(home, "claudemesh.db"), ""), join(home, "claudemesh.db")), 0o400);
    // Each as fileError words an EACCES for it, run as the user that owns the paths.
    const cases: [path: string, op: string][] = [[readable, "read"], [writeOnly, "read"], [join(shut, "x.json"), "read"], [join(home, "gone", "sub", "x.json"), "write"], [readOnly, "write"], [join(shut, "x.json"), "write"]];
    const script = `import { fileError } from ${JSON.stringify(join(import.meta.dir, "../../src/local-file/error.ts"))};
      const cases = ${JSON.stringify(cases)};
      console.log(JSON.stringify(cases.map(([p, op]) => fileError(Object.assign(new Error("raw"), { code: "EACCES" }), p, op).fix)));`;
    const proc = Bun.spawn([...AS_SERVICE, process.execPath, "-e", script], { cwd: home, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(out)).toEqual([notTheMode(readable), `chmod 600 ${writeOnly}`, `chmod 700 ${shut}`, notTheMode(home), `chmod 600 ${readOnly}`, `chmod 700 ${shut}`]);
  }, 30_000);

  test.skipIf(!canMakeImmutable)("a config directory with the owner's access that still refuses a new file gets no chmod; one at mode 500 gets chmod 700", async () => {
    const { home } = serviceDir();
    const pending = join(home, "pending");
    const refusal = (mode: string, fix: string) => ({ code: 5, stderr: `claudemesh: Cannot create the directory ${pending}: permission denied (${home} is yours, mode ${mode}).\n  fix: ${fix}\n` });
    const create = async () => {
      const r = await run("service", ["new", "Team", "--broker", "http://127.0.0.1:9", "--display-name", "ann"], home);
      return { code: r.code, stderr: r.stderr };
    };
    expect(chattr("+i", home)).toBe(true);
    try {
      expect(await create()).toEqual(refusal("700", notTheMode(home)));
    } finally {
      chattr("-i", home);
    }
    chmodSync(home, 0o500);
    expect(await create()).toEqual(refusal("500", `chmod 700 ${home}`));
  }, 30_000);
});
