// docs/operations.md "Behind a reverse proxy", run as written: Debian's nginx and Caddy with the
// document's own site blocks (test/helpers/doc-proxy-config.ts replaces only the host name, ports
// and certificate paths), TLS from a CA made with openssl for the test, and `claudemesh serve` as a
// real process with the settings the document gives. Through https/wss: /health, the dashboard,
// the CLI's whole first-run path (new, invite, join from another HOME, send, inbox), the MCP server,
// and how clients are told to trust a private CA (NODE_EXTRA_CA_CERTS), or to use https:// when
// they gave the TLS port as http:// (the proxy's 400). Client addresses: per-address
// limits and logs see the client behind the proxy (127.0.0.2, 127.0.0.3), a forged X-Forwarded-For
// through the proxy or straight to the broker changes nothing, and /metrics stays closed.
// Session 28 (docs/decisions.md).
import { describe, expect, test } from "bun:test";
import { cli, identities, ok, useBroker } from "../helpers/cli.ts";
import { startMcp } from "../helpers/mcp.ts";
import { firstRunWalk } from "../helpers/https-walk.ts";
import { proxiedBroker, type ProxiedBroker } from "../helpers/proxied-broker.ts";
import { fromAddress, upgradeFrom } from "../helpers/source-address.ts";
import { until } from "../helpers/until.ts";

const get = (p: ProxiedBroker, path: string, init: RequestInit = {}) => fetch(`${p.url}${path}`, { ...init, redirect: "manual", tls: { ca: p.caPem } } as RequestInit);

/** The invite link's payload (`ic://join/<base64url JSON>`). */
const inviteOf = (link: string) => JSON.parse(Buffer.from(link.slice("ic://join/".length), "base64url").toString("utf8"));

describe.each(["nginx", "caddy"] as const)("behind %s, configured as docs/operations.md says", (kind) => {
  test("https: /health, the dashboard page and its files, an operator login's Secure cookie; /metrics refused however it is spelled", async () => {
    await using p = await proxiedBroker(kind);
    const health = await get(p, "/health");
    expect({ status: health.status, body: (await health.json()).status }).toEqual({ status: 200, body: "ok" });
    const page = await get(p, "/");
    const html = await page.text();
    expect({ status: page.status, type: page.headers.get("content-type") }).toEqual({ status: 200, type: expect.stringContaining("text/html") });
    const files = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect({ f, status: (await get(p, `/${f}`)).status }).toEqual({ f, status: 200 });
    // The first start printed the operator token; its login, through the proxy, gets a Secure
    // cookie: the broker believed the proxy's X-Forwarded-Proto.
    const token = /^\s+(cmo_\S+)$/m.exec(p.serve.stderr())?.[1];
    expect(token).toBeDefined();
    const login = await get(p, "/v1/dashboard/operator/login", { method: "POST", headers: { "content-type": "application/json", origin: p.url }, body: JSON.stringify({ token }) });
    expect({ status: login.status, secure: /;\s*Secure/i.test(login.headers.get("set-cookie") ?? "") }).toEqual({ status: 200, secure: true });
    // The broker answers all of these spellings itself; none may pass a proxy from outside 10.0.0.0/8.
    const spellings = ["/metrics", "/metrics/", "/metrics?x=1", "/./metrics", "/x/../metrics", "//metrics", "/%6detrics", "/METRICS"];
    const direct = await Promise.all(spellings.map(async (s) => [s, (await fetch(`${p.direct}${s}`)).status] as const));
    expect(direct.filter(([, status]) => status === 200).map(([s]) => s)).toEqual(expect.arrayContaining(["/metrics", "/metrics/", "/metrics?x=1"]));
    const viaProxy = await Promise.all(spellings.map(async (s) => [s, (await get(p, s)).status] as const));
    expect(viaProxy.filter(([, status]) => status === 200)).toEqual([]);
  }, 60_000);

  test("the CLI over https trusts the private CA through NODE_EXTRA_CA_CERTS: new, invite, join from a second HOME, send, inbox; the MCP server connects", async () => {
    await using p = await proxiedBroker(kind);
    await using ids = identities(2);
    const { created, link } = await firstRunWalk(p.url, { NODE_EXTRA_CA_CERTS: p.ca.caFile }, ids.dirs as [string, string], "through the proxy");
    expect(created.mesh.broker).toBe(p.url);
    expect(inviteOf(link).broker).toBe(p.url);
  }, 90_000);

  test("without the CA, the CLI and the MCP server refuse the certificate in words that say what to do, and send nothing", async () => {
    await using p = await proxiedBroker(kind);
    await using ids = identities(1);
    const dir = ids.dirs[0]!;
    const refusal = `Cannot reach the broker at ${p.url}: its TLS certificate is not trusted here (unable to verify the first certificate), so nothing was sent. If it comes from a private CA, give that CA's certificate (PEM) in NODE_EXTRA_CA_CERTS, e.g. NODE_EXTRA_CA_CERTS=/path/to/ca.pem claudemesh …`;
    // The proxy's TLS port given as http:// answers 400 (nginx: "The plain HTTP request was sent
    // to HTTPS port"): said as the https:// URL to use, never as "run the same command again",
    // which meets the same 400; over HTTP (`new`), the WebSocket (`peers`) and in `list`.
    const plain = p.url.replace("https://", "http://");
    const wrongScheme = (sent: string) => `${plain} answered HTTP 400${sent}. That is how a TLS port (a reverse proxy's https) answers plain http://: if the broker is served over https there, use ${p.url}.`;
    const plainNew = await cli(dir, ["new", "plain", "--broker", plain, "--display-name", "alice"]);
    expect({ code: plainNew.code, stderr: plainNew.stderr }).toEqual({ code: 6, stderr: `claudemesh: ${wrongScheme(": nothing was done")}\n` });
    // Over HTTP (`new`), then over the WebSocket (`peers`, the MCP server) once the mesh exists.
    const r = await cli(dir, ["new", "untrusted", "--broker", p.url, "--display-name", "alice"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 6, stderr: `claudemesh: ${refusal}\n` });
    expect(p.logs().filter((l) => l.msg === "mesh created")).toEqual([]);
    ok(await cli(dir, ["new", "untrusted", "--broker", p.url, "--display-name", "alice", "--json"], { env: { NODE_EXTRA_CA_CERTS: p.ca.caFile } }), "new with the CA");
    const peers = await cli(dir, ["peers"]);
    expect({ code: peers.code, stderr: peers.stderr }).toEqual({ code: 6, stderr: `claudemesh: ${refusal}\n` });
    await using mcp = await startMcp(dir, "untrusting-session");
    let answer = { text: "", isError: false };
    await until(async () => (answer = await mcp.call("mesh_peers")).text.includes("TLS certificate"), "mesh_peers to give the certificate refusal", 20_000);
    expect({ isError: answer.isError, names: answer.text.includes(refusal) }).toEqual({ isError: true, names: true });
    useBroker(dir, plain);
    const [plainPeers, plainList] = await Promise.all([cli(dir, ["peers"]), cli(dir, ["list", "--json"])]);
    expect({ code: plainPeers.code, stderr: plainPeers.stderr, list: plainList.json().meshes[0].brokerProblem }).toEqual({ code: 6, stderr: `claudemesh: ${wrongScheme(": nothing was done")}\n  fix: if the broker moved to a new address: claudemesh set-broker <new URL> (it checks that the address serves this mesh before saving it)\n`, list: wrongScheme("") });
  }, 60_000);

  test("per-address limits and logs see the client behind the proxy; a forged X-Forwarded-For, through it or straight to the broker, changes nothing", async () => {
    await using p = await proxiedBroker(kind, { CLAUDEMESH_MAX_CONNECTIONS_PER_IP: "1" });
    const tls = { ca: p.caPem };
    const port = p.proxy.port;
    // One connection per address: the second from 127.0.0.2 is refused, 127.0.0.3 has its own.
    using first = await upgradeFrom(port, "127.0.0.2", { tls });
    using second = await upgradeFrom(port, "127.0.0.2", { tls, headers: { "x-forwarded-for": "198.51.100.7" } });
    using third = await upgradeFrom(port, "127.0.0.3", { tls });
    expect([first.status, second.status, third.status]).toEqual([101, 429, 101]);
    await until(() => p.logs().some((l) => l.msg === "connection refused before its hello"), "the refusal in the broker's log");
    expect(p.logs().filter((l) => l.msg === "connection refused before its hello").map((l) => [l.reason, l.ip])).toEqual([["too_many_connections", "127.0.0.2"]]);
    // Straight to the broker (bypassing the proxy) from an address that is no trusted proxy: its
    // X-Forwarded-For is not believed, so it cannot borrow 127.0.0.4's allowance.
    const brokerPort = Number(new URL(p.direct).port);
    using direct = await upgradeFrom(brokerPort, "127.0.0.4", { headers: { "x-forwarded-for": "127.0.0.9" } });
    using spoofed = await upgradeFrom(brokerPort, "127.0.0.4", { headers: { "x-forwarded-for": "127.0.0.10" } });
    expect([direct.status, spoofed.status]).toEqual([101, 429]);
    // The log names the client's address for an HTTP request too: the CLI's `new` reaching the
    // proxy from 127.0.0.5 (through a TCP relay that connects from there; TLS ends at the proxy).
    using relay = await fromAddress(port, "127.0.0.5");
    await using ids = identities(1);
    const url = `https://localhost:${new URL(relay.url).port}`;
    ok(await cli(ids.dirs[0]!, ["new", "addressed", "--broker", url, "--display-name", "alice", "--json"], { env: { NODE_EXTRA_CA_CERTS: p.ca.caFile } }), "new from 127.0.0.5");
    expect(p.logs().filter((l) => l.msg === "mesh created").map((l) => l.ip)).toEqual(["127.0.0.5"]);
  }, 60_000);
});
