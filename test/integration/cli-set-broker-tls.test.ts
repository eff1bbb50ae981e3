// The common real move (docs/operations.md "Moving a broker"): a team that began on the broker's
// plain http://address:port, whose operator then put a TLS proxy in front and set publicUrl. The
// broker states that URL (hello_ack.publicUrl): a command run over the old address says so once,
// with the command that moves; set-broker to the https URL is refused (nothing saved) while this
// machine does not trust the proxy's private CA, and taken once it does (NODE_EXTRA_CA_CERTS).
// A real `claudemesh serve` behind Debian's nginx, configured as the document says.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, identities, ok } from "../helpers/cli.ts";
import { proxiedBroker } from "../helpers/proxied-broker.ts";
import type { LocalConfig } from "../../src/client/local/config-file.ts";

const savedUrl = (dir: string) => (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as LocalConfig).meshes[0]!.brokerUrl;

describe("moving from the broker's own http address to its TLS proxy", () => {
  test("told once by the broker's publicUrl; refused without the CA, moved with it", async () => {
    await using p = await proxiedBroker("nginx");
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const created = ok(await cli(alice, ["new", "Team", "--broker", p.direct, "--display-name", "alice", "--json"])).json();
    const slug = created.mesh.slug as string;

    const told = ok(await cli(alice, ["peers"]));
    expect(told.stderr).toBe(`claudemesh: warning: The broker of ${slug} gives ${p.url} as its public URL, and this machine reaches it at ${p.direct}. If that address is to stop working (the broker moved behind a TLS proxy, say), switch now: claudemesh set-broker ${p.url} It came over plain http://, which anyone between this machine and the broker can alter: switch only to an address the broker's operator gives you.\n`);
    expect(ok(await cli(alice, ["peers"])).stderr).toBe("");

    const untrusted = await cli(alice, ["set-broker", p.url, "--json"]);
    expect({ code: untrusted.code, error: untrusted.json().error }).toEqual({
      code: 6,
      error: { code: "unavailable", message: expect.stringContaining(`Cannot reach the broker at ${p.url}: its TLS certificate is not trusted here`), fix: `check the URL (the one the broker's operator gives: its publicUrl); nothing was saved: ${slug} still uses ${p.direct}` },
    });
    expect(savedUrl(alice)).toBe(p.direct);

    const env = { NODE_EXTRA_CA_CERTS: p.ca.caFile };
    const moved = await cli(alice, ["set-broker", p.url, "--json"], { env });
    expect({ code: moved.code, json: moved.json(), stderr: moved.stderr }).toEqual({
      code: 0,
      json: expect.objectContaining({ broker: p.url, previous: p.direct, changed: true, publicUrl: null, openInvites: [], otherMembers: 0 }),
      stderr: "",
    });
    expect(savedUrl(alice)).toBe(p.url);
    const after = await cli(alice, ["peers", "--json"], { env });
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
  }, 90_000);
});
