// `join` and `new` against a broker nobody can connect to (nothing listens on its port): the
// request never left, so the error says so plainly (not "it may have been carried out: run it
// again"), exits 6 (unavailable), and the key saved for a retry is removed. A key an earlier attempt
// saved is kept: that attempt may have reached the broker (cli-lost-answers.test.ts).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam, identities, ok } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { encodeInvite, parseInvite } from "../../src/client/invite-link.ts";

/** The pending enrolments (src/client/local/pending-enrolments.ts) left in a config dir. */
const pendingIn = (dir: string) => (existsSync(join(dir, "pending")) ? readdirSync(join(dir, "pending")) : []);

/** http://127.0.0.1:<port> where nothing listens: a port just given by the OS, then closed. */
async function deadBroker(): Promise<string> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const url = `http://127.0.0.1:${probe.port}`;
  await probe.stop(true);
  return url;
}

/** The same invite, with its broker at `url`. */
function linkTo(link: string, url: string): string {
  const { secret: _secret, ...payload } = parseInvite(link);
  return encodeInvite({ ...payload, broker: url });
}

const notSent = (url: string) => `Cannot reach the broker at ${url} (connection refused): nothing was sent. Is it running, and is the URL right?`;

describe("join and new when the broker cannot be reached", () => {
  test("join: nothing was sent, exit 6, no pending enrolment left", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const [bob] = ids.dirs as [string];
    const dead = await deadBroker();
    const link = linkTo(ok(await cli(team.dirs[0], ["invite", "--json"])).json().link, dead);
    const r = await cli(bob, ["join", link, "--display-name", "bob"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr, pending: pendingIn(bob) }).toEqual({ code: 6, stdout: "", stderr: `claudemesh: ${notSent(dead)}\n`, pending: [] });
    const json = await cli(bob, ["join", link, "--display-name", "bob", "--json"]);
    expect({ code: json.code, json: json.json(), pending: pendingIn(bob) }).toEqual({ code: 6, json: { error: { code: "unavailable", message: notSent(dead) } }, pending: [] });
  }, 60_000);

  test("join: a link whose broker URL cannot be used is refused before a key is made (none left behind)", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const [bob] = ids.dirs as [string];
    // A broker page for its base URL: refused without contacting anyone (broker-url.ts).
    const page = `${team.b.url}/health`;
    const link = linkTo(ok(await cli(team.dirs[0], ["invite", "--json"])).json().link, page);
    const r = await cli(bob, ["join", link, "--display-name", "bob"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr, pending: pendingIn(bob) }).toEqual({
      code: 2,
      stdout: "",
      stderr: `claudemesh: "${page}" is the address of the broker's /health route, not of the broker: give its base URL, ${team.b.url}.\n`,
      pending: [],
    });
  }, 60_000);

  test("new: nothing was sent, exit 6, no pending enrolment left", async () => {
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const dead = await deadBroker();
    const r = await cli(alice, ["new", "Team", "--broker", dead, "--display-name", "alice"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr, pending: pendingIn(alice) }).toEqual({ code: 6, stdout: "", stderr: `claudemesh: ${notSent(dead)}\n`, pending: [] });
  }, 30_000);

  test("join: a key saved by an earlier attempt whose answer was lost is kept, and the retry once the broker is back uses it", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const [bob] = ids.dirs as [string];
    const link: string = ok(await cli(team.dirs[0], ["invite", "--json"])).json().link;
    let proxyUrl: string;
    {
      using proxy = linkProxy(team.b.port);
      proxyUrl = proxy.url;
      proxy.freezeDown(); // the claim reaches the broker; its answer does not come back
      const lost = await cli(bob, ["join", linkTo(link, proxy.url), "--display-name", "bob"], { timeoutMs: 4000 }); // then Ctrl-C
      expect(lost.code).not.toBe(0);
    }
    expect(pendingIn(bob)).toHaveLength(1);
    // The proxy is gone: this attempt sends nothing, but the first one may have been carried out.
    const r = await cli(bob, ["join", linkTo(link, proxyUrl), "--display-name", "bob"]);
    expect({ code: r.code, stderr: r.stderr, pending: pendingIn(bob).length }).toEqual({
      code: 6,
      stderr: `claudemesh: ${notSent(proxyUrl)} An earlier attempt of this command may have been carried out: once the broker is reachable, run the same command again, which sends the same key and gets that answer.\n`,
      pending: 1,
    });
    const again = ok(await cli(bob, ["join", link, "--display-name", "bob", "--json"]));
    expect({ name: again.json().member.displayName, pending: pendingIn(bob) }).toEqual({ name: "bob", pending: [] });
  }, 60_000);
});
