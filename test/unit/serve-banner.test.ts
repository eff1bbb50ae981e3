// The start banner's addresses and its plain-HTTP warning for each kind of host (src/cli/serve-banner.ts;
// docs/operations.md "First run"): a wildcard is no address to connect to, and a broker reachable
// beyond loopback without an https publicUrl warns on every start. The whole first-run text,
// through a real `serve`, is pinned in test/integration/serve-exits.test.ts.
import { describe, expect, test } from "bun:test";
import { banner } from "../../src/cli/serve-banner.ts";
import { loadBrokerConfig } from "../../src/config/load.ts";

/** The banner's lines for `host` (and `publicUrl`), served at `url`, on a later start or the first. */
function lines(host: string, url: string, publicUrl = "", first = false): string[] {
  const config = loadBrokerConfig({ flags: { host, publicUrl: publicUrl || undefined, dataDir: "/srv/cm" } });
  return banner(config, url, first ? "cmo_x" : null).split("\n");
}
const warned = (l: string[]) => l.find((x) => x.startsWith("warning:")) ?? null;
const line = (l: string[], label: string) => l.find((x) => x.startsWith(`  ${label} `))?.trim();

describe("serve's banner", () => {
  const warning = (where: string) =>
    `warning: listening on ${where} over plain HTTP: the dashboard's operator login would cross the network unencrypted; serve TLS itself (--tls-cert and --tls-key) or put a TLS proxy in front, and set --public-url https://…; or listen on 127.0.0.1`;
  test.each([
    ["127.0.0.1", "http://127.0.0.1:7900", "", null],
    ["localhost", "http://localhost:7900", "", null],
    ["::1", "http://[::1]:7900", "", null],
    ["0.0.0.0", "http://0.0.0.0:7900", "", "every interface (0.0.0.0)"],
    ["::", "http://[::]:7900", "", "every interface (::)"],
    ["192.168.1.5", "http://192.168.1.5:7900", "", "192.168.1.5"],
    ["0.0.0.0", "http://0.0.0.0:7900", "http://mesh.lan:7900", "every interface (0.0.0.0)"],
    ["0.0.0.0", "http://0.0.0.0:7900", "https://mesh.example.com", null],
  ] as const)("host %s (%s, publicUrl %p): warns of listening on %p", (host, url, publicUrl, where) => {
    expect(warned(lines(host, url, publicUrl))).toBe(where && warning(where));
  });

  test("a wildcard host: links name this machine's address, health the loopback one; a named host keeps its URL", () => {
    for (const [host, url, health] of [
      ["0.0.0.0", "http://0.0.0.0:7900", "http://127.0.0.1:7900/health/ready"],
      ["::", "http://[::]:7900", "http://[::1]:7900/health/ready"],
    ] as const) {
      const l = lines(host, url, "", true);
      expect(["dashboard", "websocket", "health"].map((label) => line(l, label))).toEqual([
        "dashboard  http://<this machine's address>:7900/",
        "websocket  ws://<this machine's address>:7900/ws",
        `health     ${health}`,
      ]);
    }
    expect(line(lines("192.168.1.5", "http://192.168.1.5:7900", "", true), "dashboard")).toBe("dashboard  http://192.168.1.5:7900/");
  });

  test.each([
    ["127.0.0.1", "http://127.0.0.1:7900", "", true],
    ["localhost", "http://localhost:7900", "", true],
    ["::1", "http://[::1]:7900", "", true],
    ["127.0.0.1", "http://127.0.0.1:7900", "https://mesh.example.com", false],
    ["0.0.0.0", "http://0.0.0.0:7900", "", false],
    ["192.168.1.5", "http://192.168.1.5:7900", "", false],
  ] as const)("first start on host %s (publicUrl %p): says only this machine reaches it: %p", (host, url, publicUrl, said) => {
    const l = lines(host, url, publicUrl, true);
    expect(l.find((x) => x.startsWith("It listens on ")) ?? null).toBe(
      said ? `It listens on ${host}, which only this machine reaches: for teammates on other machines, serve TLS itself (--tls-cert and --tls-key, on --host 0.0.0.0) or put a TLS proxy in front, and set --public-url https://… before creating the mesh (docs/operations.md, "TLS without a proxy", "Behind a reverse proxy").` : null,
    );
    // Later starts print the addresses alone.
    expect(lines(host, url, publicUrl).some((x) => x.startsWith("It listens on "))).toBe(false);
  });
});

describe("serve's banner with TLS of its own (tlsCert and tlsKey)", () => {
  const certificate = { serial: "0A1B", subject: "CN=mesh.example.com", issuer: "CN=R11", names: ["mesh.example.com", "*.mesh.example.com"], notBefore: "2026-01-01T00:00:00.000Z", notAfter: "2026-04-01T00:00:00.000Z", chain: 2 };
  const tls = (host: string, url: string, publicUrl = "", first = false) => {
    const config = loadBrokerConfig({ flags: { host, publicUrl: publicUrl || undefined, dataDir: "/srv/cm", tlsCert: "/etc/cm/fullchain.pem", tlsKey: "/etc/cm/privkey.pem" } });
    return banner(config, url, first ? "cmo_x" : null, { certificate }).split("\n");
  };

  test("on every interface: no plain-HTTP warning; links name the certificate's host over https and wss, health the loopback over https", () => {
    const l = tls("0.0.0.0", "https://0.0.0.0:7900", "", true);
    expect(warned(l)).toBeNull();
    expect(["TLS", "dashboard", "websocket", "health"].map((label) => line(l, label))).toEqual([
      "TLS        mesh.example.com, *.mesh.example.com, serial 0A1B, until 2026-04-01T00:00:00.000Z (SIGHUP reads /etc/cm/fullchain.pem again)",
      "dashboard  https://mesh.example.com:7900/",
      "websocket  wss://mesh.example.com:7900/ws",
      "health     https://127.0.0.1:7900/health/ready",
    ]);
    expect(l).toContain("  claudemesh new my-team --broker https://mesh.example.com:7900");
  });

  test("on loopback, the first start says how teammates elsewhere reach it without a proxy", () => {
    expect(tls("127.0.0.1", "https://127.0.0.1:7900", "", true).find((x) => x.startsWith("It listens on "))).toBe(
      `It listens on 127.0.0.1, which only this machine reaches: for teammates on other machines, listen on 0.0.0.0 (--host) and set --public-url https://<a name its certificate gives>:7900 before creating the mesh (docs/operations.md, "TLS without a proxy").`,
    );
  });

  test.each([
    ["https://mesh.example.com", null],
    ["https://eu.mesh.example.com:7900", null],
    ["http://mesh.example.com:7900", "warning: publicUrl http://mesh.example.com:7900 is plain http://, but this broker serves TLS: clients given it cannot connect; set --public-url https://…"],
    ["https://a.b.mesh.example.com", "warning: the TLS certificate names mesh.example.com, *.mesh.example.com, not a.b.mesh.example.com (publicUrl): clients will refuse it; use a certificate for a.b.mesh.example.com, or a publicUrl with one of its names"],
    ["https://other.example.com", "warning: the TLS certificate names mesh.example.com, *.mesh.example.com, not other.example.com (publicUrl): clients will refuse it; use a certificate for other.example.com, or a publicUrl with one of its names"],
  ] as const)("publicUrl %s: warns %p", (publicUrl, warning) => {
    expect(warned(tls("0.0.0.0", "https://0.0.0.0:7900", publicUrl))).toBe(warning);
  });
});
