// Broker URLs a first-time user types (first-run review H1): a bare `localhost:port` or
// `127.0.0.1:port` is read as http:// and the CLI says so; a URL the CLI cannot use is a usage
// error (exit 2) before the broker is contacted, from --broker or CLAUDEMESH_BROKER_URL; a URL
// saved without a scheme by an older version still works, and `doctor` names a bad saved URL as
// a bad URL rather than blaming the membership.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, identities, ok, useBroker } from "../helpers/cli.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

describe("broker URLs", () => {
  test("new --broker localhost:PORT and 127.0.0.1:PORT assume http:// and say so; the saved URL works", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [lee, kim] = ids.dirs as [string, string];
    const port = new URL(b.url).port;
    const made = await cli(lee, ["new", "t2", "--broker", `localhost:${port}`, "--display-name", "lee"]);
    expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: `No scheme in "localhost:${port}": using http://localhost:${port}.\n` });
    expect(JSON.parse(readFileSync(join(lee, "config.json"), "utf8")).meshes[0].brokerUrl).toBe(`http://localhost:${port}`);
    expect(ok(await cli(lee, ["peers", "--json"])).json().peers.map((p: { displayName: string }) => p.displayName)).toEqual(["lee"]);
    const ip = await cli(kim, ["new", "t3", "--broker", `127.0.0.1:${port}`, "--display-name", "kim", "--json"]);
    expect({ code: ip.code, broker: ip.json().mesh?.broker, stderr: ip.stderr }).toEqual({ code: 0, broker: `http://127.0.0.1:${port}`, stderr: "" });
  }, 60_000);

  test("a URL the CLI cannot use is a usage error (exit 2) before the broker is contacted", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    const [lee] = ids.dirs as [string];
    const port = new URL(b.url).port;
    const cases: [string[], Record<string, string>, string][] = [
      [["--broker", "mesh.example.com"], {}, '--broker: "mesh.example.com" has no scheme; did you mean https://mesh.example.com?'],
      [["--broker", `ftp://127.0.0.1:${port}`], {}, `--broker: "ftp://127.0.0.1:${port}" is not a broker URL`],
      [["--broker", "http://"], {}, '--broker: "http://" is not a URL'],
      [[], { CLAUDEMESH_BROKER_URL: "not a url" }, 'CLAUDEMESH_BROKER_URL: "not a url" is not a URL'],
    ];
    for (const [flags, env, words] of cases) {
      const r = await cli(lee, ["new", "t2", ...flags, "--display-name", "lee"], { env });
      expect({ flags, env, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ flags, env, code: 2, stdout: "", stderr: expect.stringContaining(`claudemesh: ${words}`) });
    }
    const json = await cli(lee, ["new", "t2", "--broker", "mesh.example.com", "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: expect.stringContaining("did you mean https://mesh.example.com?"), fix: "see `claudemesh new --help`" } } });
    expect((b.ctx.store as SqliteStore).db.query("SELECT COUNT(*) AS n FROM meshes").get()).toEqual({ n: 0 });
    expect(ok(await cli(lee, ["list", "--json"])).json()).toEqual({ meshes: [] });
  }, 60_000);

  test("a URL saved without a scheme still works; doctor reports a bad saved URL as a bad URL", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [lee, kim] = ids.dirs as [string, string];
    const port = new URL(b.url).port;
    ok(await cli(lee, ["new", "t2", "--broker", b.url, "--display-name", "lee"]));
    useBroker(lee, `localhost:${port}`);
    expect(ok(await cli(lee, ["peers", "--json"])).json().peers.length).toBe(1);
    const healthy = await cli(lee, ["doctor", "--json"]);
    expect(healthy.json().checks.find((c: { check: string }) => c.check === "t2: broker")).toEqual({ check: "t2: broker", ok: true, detail: expect.stringContaining("accepts you as lee (owner)"), fix: null });
    // An invite made from it carries a URL with a scheme, so a joiner can use it.
    const { link } = ok(await cli(lee, ["invite", "--json"])).json();
    expect(ok(await cli(kim, ["join", link, "--display-name", "kim", "--json"])).json().mesh.slug).toBe("t2");

    useBroker(lee, `ftp://localhost:${port}`);
    const peers = await cli(lee, ["peers"]);
    expect({ code: peers.code, stderr: peers.stderr }).toEqual({
      code: 5,
      stderr: `claudemesh: The broker URL saved for mesh "t2" cannot be used: "ftp://localhost:${port}" is not a broker URL: one starts with http://, https://, ws:// or wss://.\n  fix: claudemesh set-broker <the broker's http(s):// URL>\n`,
    });
    // Nothing listens on the saved port: said as every command says it, not as the runtime's message.
    const closed = Bun.serve({ port: 0, fetch: () => new Response() });
    const deadPort = closed.port;
    closed.stop(true);
    useBroker(lee, `http://127.0.0.1:${deadPort}`);
    const down = (await cli(lee, ["doctor", "--json"])).json().checks.find((c: { check: string }) => c.check === "t2: broker");
    expect(down).toEqual({ check: "t2: broker", ok: false, detail: `Cannot reach the broker at http://127.0.0.1:${deadPort} (connection refused). Is it running, and is the URL right?`, fix: `check that claudemesh serve runs at http://127.0.0.1:${deadPort}; if the broker moved to a new address: claudemesh set-broker <new URL> (it checks that the address serves this mesh before saving it)` });

    useBroker(lee, `ftp://localhost:${port}`);
    const doctor = await cli(lee, ["doctor", "--json"]);
    expect({ code: doctor.code, check: doctor.json().checks.find((c: { check: string }) => c.check.startsWith("t2: broker")) }).toEqual({
      code: 5,
      check: { check: "t2: broker URL", ok: false, detail: `"ftp://localhost:${port}" is not a broker URL: one starts with http://, https://, ws:// or wss://.`, fix: "claudemesh set-broker <the broker's http(s):// URL>" },
    });
  }, 60_000);
});
