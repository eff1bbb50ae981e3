// serve-problems.ts missingAddress: a host no interface of this machine has is a setting to fix
// (exit 2, not restarted by the systemd unit), unless it may still come: early after boot (an
// interface network-online.target does not wait for, like a VPN's) or already on an interface.
import { describe, expect, test } from "bun:test";
import { BOOT_SETTLE_S, missingAddress, ServeExit, unresolvedHost } from "../../src/cli/serve-problems.ts";

const MACHINE = { addresses: ["127.0.0.1", "10.0.0.5", "::1", "fd00::2"], uptimeS: 86_400 };
const V4_FIX = "set host (--host, CLAUDEMESH_HOST) to an address this machine has: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone, or one of 127.0.0.1, 10.0.0.5";

describe("missingAddress", () => {
  test("past boot: exit 2, naming the address and the ones to use instead", () => {
    expect(missingAddress("192.0.2.1", 7900, MACHINE)).toEqual(["cannot listen on 192.0.2.1:7900: no interface of this machine has that address", V4_FIX, ServeExit.badSetting]);
  });

  test("an IPv6 host is offered IPv6 addresses", () => {
    expect(missingAddress("2001:db8::1", 7900, MACHINE)[1]).toBe("set host (--host, CLAUDEMESH_HOST) to an address this machine has: :: for every interface, ::1 for this machine alone, or one of ::1, fd00::2");
  });

  test("within BOOT_SETTLE_S of boot: exit 1, restarted, and the fix says why", () => {
    const [, fix, exit] = missingAddress("192.0.2.1", 7900, { ...MACHINE, uptimeS: BOOT_SETTLE_S - 1 });
    expect({ fix, exit }).toEqual({ fix: `${V4_FIX}; an interface that is still coming up after boot may bring it, so until 5 minutes after boot this is retried`, exit: ServeExit.mayPass });
  });

  test("an address already on an interface but not usable yet (IPv6 duplicate address detection): exit 1", () => {
    expect(missingAddress("[FD00::2]", 7900, MACHINE)[2]).toBe(ServeExit.mayPass);
  });
});

// serve-problems.ts unresolvedHost: a host name that does not resolve, the same policy.
describe("unresolvedHost", () => {
  const said = 'host "mesh.example" does not resolve (ENOTFOUND); the broker could not listen on it';
  const fix = "set host (--host, CLAUDEMESH_HOST) to a name that resolves or to an address this machine has: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone";

  test.each([
    ["no such name, past boot: a setting to fix", "ENOTFOUND", 86_400, [said, fix, ServeExit.badSetting]],
    ["no such name within BOOT_SETTLE_S: retried", "ENOTFOUND", BOOT_SETTLE_S - 1, [said, `${fix}; a resolver that is still coming up after boot may know it, so until 5 minutes after boot this is retried`, ServeExit.mayPass]],
    ["no resolver reachable: may pass", "EAI_AGAIN", 86_400, [said.replace("ENOTFOUND", "EAI_AGAIN"), null, ServeExit.mayPass]],
  ] as const)("%s", (_name, code, uptimeS, refusal) => {
    expect(unresolvedHost("mesh.example", code, uptimeS)).toEqual([...refusal]);
  });
});
