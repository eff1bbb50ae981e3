// A config.json its owner cannot read (mode 000): the user IS the owner, so the fix is the chmod
// that gives the owner access, not "run claudemesh as the user that owns it"; the mode reads as
// ls -l and chmod write it (000, not 0). Linux, as root, with setpriv: the CLI runs as another
// uid (helpers/service-user.ts), since root reads any file.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canSwitchUser, run, serviceDir, SERVICE_UID as U } from "../helpers/service-user.ts";
import { CONFIG_VERSION } from "../../src/client/local/config-file.ts";

describe.skipIf(!canSwitchUser)("your own config.json at mode 000", () => {
  test("is named as yours with its octal mode, and the fix is chmod 600, which works", async () => {
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
});
