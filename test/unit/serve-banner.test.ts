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
    `warning: listening on ${where} over plain HTTP: the dashboard's operator login would cross the network unencrypted; put a TLS proxy in front and set --public-url https://…, or listen on 127.0.0.1`;
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
      said ? `It listens on ${host}, which only this machine reaches: for teammates on other machines, put a TLS proxy in front and set --public-url https://… before creating the mesh (docs/operations.md, "Behind a reverse proxy").` : null,
    );
    // Later starts print the addresses alone.
    expect(lines(host, url, publicUrl).some((x) => x.startsWith("It listens on "))).toBe(false);
  });
});
