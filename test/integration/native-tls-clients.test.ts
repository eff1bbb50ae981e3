// `claudemesh doctor` and `claudemesh dashboard` against a broker that serves TLS itself
// (docs/operations.md "TLS without a proxy"), which the tests of that feature did not run: a real
// `serve --tls-cert`, certificates from a throwaway CA, the CLI as a subprocess. doctor without
// the CA gives the fix for the certificate (not "check that claudemesh serve runs there"); the
// dashboard's live stream, opened through `claudemesh dashboard`, outlives a renewal; a
// self-signed certificate served by the broker itself is named as the broker's to replace, not a
// proxy's. Session 35 (docs/decisions.md, "review of the native TLS and broker-move merges").
import { describe, expect, test } from "bun:test";
import { cli, dashboardServing, identities, ok, useBroker } from "../helpers/cli.ts";
import { tlsBroker, tlsPair } from "../helpers/tls-broker.ts";
import { makeSelfSigned } from "../helpers/tls-ca.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";
import { parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";

type Check = { check: string; ok: boolean; detail: string; fix: string | null };
const brokerCheck = async (dir: string, env: Record<string, string> = {}) => ((await cli(dir, ["doctor", "--json"], { env })).json().checks as Check[]).find((c) => c.check.endsWith(": broker"));

describe("clients of a broker serving TLS itself", () => {
  test("doctor: without the CA, the fix says what to trust and where; with it, the broker check passes", async () => {
    await using b = await tlsBroker();
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const env = { NODE_EXTRA_CA_CERTS: b.caFile };
    ok(await cli(alice, ["new", "doctored", "--broker", b.url, "--display-name", "alice", "--json"], { env }), "new");
    expect(await brokerCheck(alice)).toEqual({
      check: "doctored: broker",
      ok: false,
      detail: `Cannot reach the broker at ${b.url}: its TLS certificate is not trusted here (its issuer is unknown). If it comes from a private CA, give that CA's certificate (PEM) in NODE_EXTRA_CA_CERTS, e.g. NODE_EXTRA_CA_CERTS=/path/to/ca.pem claudemesh …`,
      fix: "NODE_EXTRA_CA_CERTS=/path/to/ca.pem (the PEM certificate of the CA that issued the broker's) in this shell and in the environment Claude Code is started from, then claudemesh doctor again",
    });
    expect(await brokerCheck(alice, env)).toEqual({ check: "doctored: broker", ok: true, detail: `${b.url} accepts you as alice (owner)`, fix: null });
  }, 60_000);

  test("dashboard: a live stream opened before a renewal goes on after it and gets the next event", async () => {
    await using b = await tlsBroker();
    await using team = await tlsPair(b, "watched");
    const { alice, bob, env } = team;
    await using served = await dashboardServing(alice, ["--no-open"], { env });
    const { local, url } = served.json;
    const login = await fetch(`${local}v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: local.slice(0, -1) }, body: JSON.stringify(parseDashboardFragment(new URL(url).hash)!.login) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const events = await fetch(`${local}v1/dashboard/events?pageKey=${login.headers.get(PAGE_KEY_HEADER)}`, { headers: { cookie } });
    expect(events.status).toBe(200);
    let text = "";
    const reader = events.body!.getReader();
    const reading = (async () => {
      const decoder = new TextDecoder();
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
    })().catch(() => {});
    await until(() => text.includes("event: ready"), "the stream's first event");
    b.point(b.ca.issue("second"));
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().some((l) => l.msg === "TLS certificate reloaded"), "the renewal");
    ok(await cli(bob, ["status", "working"], { env }), "status");
    await until(() => /event: peer_status\ndata: \{[^\n]*"displayName":"bob","status":"working"/.test(text), "bob's status on the stream opened before the renewal");
    await reader.cancel();
    await reading;
  }, 60_000);

  test("a self-signed certificate served by the broker itself: the refusal names the broker's tlsCert, not only a proxy; doctor's fix is the operator's", async () => {
    await using b = await tlsBroker();
    await using ids = identities(2);
    const [alice, carol] = ids.dirs as [string, string];
    ok(await cli(alice, ["new", "selfish", "--broker", b.url, "--display-name", "alice", "--json"], { env: { NODE_EXTRA_CA_CERTS: b.caFile } }), "new");
    b.point(makeSelfSigned(tempDir("cm-self-")));
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().some((l) => l.msg === "TLS certificate reloaded"), "the renewal");
    const r = await cli(carol, ["new", "selfish", "--broker", b.url, "--display-name", "carol"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 6,
      stderr: `claudemesh: Cannot reach the broker at ${b.url}: its TLS certificate is self-signed, so nothing was sent. Give the broker (its tlsCert) or the reverse proxy in front of it a certificate from a CA (Let's Encrypt, or a private CA whose certificate you put in NODE_EXTRA_CA_CERTS).\n`,
    });
    expect((await brokerCheck(alice))?.fix).toBe("ask the broker's operator for a certificate from a CA that is valid now, served by the broker (its tlsCert) or the reverse proxy in front of it; or correct this machine's clock");
  }, 60_000);

  // The move a VPS operator makes when the broker begins serving TLS on its own port (session 36,
  // "the operator's path walked again"): the members' saved http://host:port now meets a port that
  // closes plain HTTP, and the fix docs/operations.md "Moving a broker" promises for every address
  // that stopped working names set-broker (it named none for this case).
  test("a mesh saved with the plain http:// address of a port that now serves TLS: the fix names set-broker, which moves it", async () => {
    await using b = await tlsBroker();
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const env = { NODE_EXTRA_CA_CERTS: b.caFile };
    ok(await cli(alice, ["new", "moved", "--broker", b.url, "--display-name", "alice", "--json"], { env }), "new");
    const plain = `http://127.0.0.1:${b.port}`;
    useBroker(alice, plain);
    const fix = "if the broker moved to a new address: claudemesh set-broker <new URL> (it checks that the address serves this mesh before saving it)";
    const peers = await cli(alice, ["peers", "--json"], { env });
    expect({ code: peers.code, error: peers.json().error }).toEqual({
      code: 6,
      error: { code: "unavailable", message: expect.stringContaining(`use https://127.0.0.1:${b.port}.)`), fix },
    });
    expect((await brokerCheck(alice, env))?.fix).toBe(`check that claudemesh serve runs at ${plain}; ${fix}`);
    ok(await cli(alice, ["set-broker", b.url, "--json"], { env }), "set-broker");
    ok(await cli(alice, ["peers", "--json"], { env }), "peers after the move");
  }, 60_000);
});
