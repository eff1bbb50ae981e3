// trustedProxies (operations.md "Behind a reverse proxy"): entries are IPv4/IPv6 addresses or CIDR
// ranges, anything else stops the config with the key and its source; a dual-stack listener's
// IPv4-mapped peers (::ffff:a.b.c.d) match their IPv4 entries, and count as their IPv4 address.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadBrokerConfig } from "../../src/config/load.ts";
import { clientIp, isTrustedProxy } from "../../src/broker/client-ip.ts";
import { isHttps } from "../../src/broker/http/dashboard-auth.ts";

const trusted = (address: string, entries: string[]) => isTrustedProxy(address, entries);

describe("matching", () => {
  test.each([
    ["127.0.0.1", ["127.0.0.1"], true],
    ["::ffff:127.0.0.1", ["127.0.0.1"], true],
    ["::FFFF:7f00:1", ["127.0.0.1"], true],
    ["127.0.0.1", ["::ffff:127.0.0.1"], true],
    ["127.0.0.2", ["127.0.0.1"], false],
    ["10.1.2.3", ["10.0.0.0/8"], true],
    ["::ffff:10.1.2.3", ["10.0.0.0/8"], true],
    ["11.0.0.1", ["10.0.0.0/8"], false],
    ["192.168.1.77", ["192.168.1.64/26"], true],
    ["192.168.1.128", ["192.168.1.64/26"], false],
    ["8.8.8.8", ["0.0.0.0/0"], true],
    ["::1", ["::1"], true],
    ["0:0:0:0:0:0:0:1", ["::1"], true],
    ["::1", ["127.0.0.1"], false],
    ["fd00:1::5", ["fd00::/8"], true],
    ["fe80::5", ["fd00::/8"], false],
    ["2001:db8:0:0:1::1", ["2001:db8::/48"], true],
    ["2001:db8:1::1", ["2001:db8::/48"], false],
    ["unknown", ["0.0.0.0/0", "::/0"], false],
  ] as const)("%s against %j → %s", (address, entries, expected) => {
    expect(trusted(address, [...entries])).toBe(expected);
  });

  test("X-Forwarded-For is believed from a mapped or ranged proxy, and the client is counted by its IPv4 address", () => {
    expect(clientIp("::ffff:127.0.0.1", "203.0.113.1", ["127.0.0.1"])).toBe("203.0.113.1");
    expect(clientIp("::ffff:10.0.0.9", "203.0.113.1, 10.0.0.8", ["10.0.0.0/8"])).toBe("203.0.113.1");
    expect(clientIp("::ffff:192.0.2.1", "203.0.113.1", ["127.0.0.1"])).toBe("192.0.2.1");
    expect(clientIp("::ffff:127.0.0.1", "::ffff:203.0.113.1", ["127.0.0.1"])).toBe("203.0.113.1");
  });

  test("a port a proxy added to X-Forwarded-For is dropped; an entry that is no address counts as the proxy", () => {
    const proxy = ["127.0.0.1"];
    expect(clientIp("127.0.0.1", "203.0.113.1:5678", proxy)).toBe("203.0.113.1");
    expect(clientIp("127.0.0.1", "[2001:db8::1]:443", proxy)).toBe("2001:db8::1");
    expect(clientIp("127.0.0.1", "[2001:db8::1]", proxy)).toBe("2001:db8::1");
    expect(clientIp("127.0.0.1", "2001:db8::1", proxy)).toBe("2001:db8::1");
    expect(clientIp("127.0.0.1", "203.0.113.1:1, 127.0.0.1:80", proxy)).toBe("203.0.113.1");
    for (const junk of ["unknown", "client.example", "999.1.1.1", "1.2.3.4:port", "[zz]:1"]) expect({ junk, ip: clientIp("127.0.0.1", junk, proxy) }).toEqual({ junk, ip: "127.0.0.1" });
  });

  test("the dashboard believes X-Forwarded-Proto from a mapped or ranged proxy", () => {
    const req = new Request("http://mesh.example.com/", { headers: { "x-forwarded-proto": "https" } });
    const from = (address: string) => ({ requestIP: () => ({ address, family: "IPv6" as const, port: 1 }) });
    expect(isHttps(req, from("::ffff:127.0.0.1"), ["127.0.0.1"])).toBe(true);
    expect(isHttps(req, from("::ffff:10.2.3.4"), ["10.0.0.0/8"])).toBe(true);
    expect(isHttps(req, from("::ffff:192.0.2.1"), ["10.0.0.0/8"])).toBe(false);
  });
});

describe("config", () => {
  test("addresses and CIDR ranges of both families are accepted", () => {
    const c = loadBrokerConfig({ env: { HOME: "/h", CLAUDEMESH_TRUSTED_PROXIES: "127.0.0.1, ::1, 10.0.0.0/8, fd00::/8, ::ffff:192.0.2.1" } });
    expect(c.trustedProxies).toEqual(["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8", "::ffff:192.0.2.1"]);
  });

  test.each(["proxy.internal", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/ 8", "300.1.1.1", "[::1]"])("%j is refused, naming the key and the source", (entry) => {
    expect(() => loadBrokerConfig({ env: { HOME: "/h", CLAUDEMESH_TRUSTED_PROXIES: `127.0.0.1,${entry}` } })).toThrow(ConfigError);
    expect(() => loadBrokerConfig({ env: { HOME: "/h", CLAUDEMESH_TRUSTED_PROXIES: `127.0.0.1,${entry}` } })).toThrow(/^trustedProxies from CLAUDEMESH_TRUSTED_PROXIES: .*not an IP address or a CIDR range/);
  });
});
