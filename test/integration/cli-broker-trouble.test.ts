// What the CLI says when the broker URL is wrong or the broker misbehaves
// (src/client/broker-trouble.ts): the same situation gets the same sentence and exit code whether
// `new` met it over HTTP or `send` over the WebSocket, names the URL the user gave (never the
// internal ws://…/ws), and says "nothing was sent / done" exactly when the request provably had no
// effect. Situations: nothing listens, a plain HTTP server that is no broker, a broker URL with a
// path, https:// to a plain-http broker, a TCP listener that never answers (CLAUDEMESH_TIMEOUT
// keeps that one short), a connection that drops under `inbox --follow`, and answers no broker
// gives (a CDN's 520, an HTML 200, a proxy's 502, a 429 refusing the upgrade). `list` and
// `doctor`, which only ask for the broker's health, say the same sentences (src/cli/broker-health.ts),
// less the "nothing was sent" that only a command that sends has to say. Where nothing usable
// answered, as from a broker that moved away, the commands with a saved URL name set-broker as the
// fix (src/client/move-hint.ts).
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliStream, cliTeam, identities, until } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeSelfSigned, makeTestCa } from "../helpers/tls-ca.ts";

/** The pending enrolments (src/client/local/pending-enrolments.ts) left in a config dir. */
const pendingIn = (dir: string) => (existsSync(join(dir, "pending")) ? readdirSync(join(dir, "pending")) : []);

/** A copy of config dir `from` whose meshes say their broker is at `url`. */
function pointedAt(from: string, to: string, url: string): string {
  cpSync(from, to, { recursive: true });
  const path = join(to, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8"));
  for (const m of config.meshes) m.brokerUrl = url;
  writeFileSync(path, JSON.stringify(config));
  return to;
}

const SHORT = { CLAUDEMESH_TIMEOUT: "500ms" };
/** The fix a command that uses a saved broker gets when nothing usable answered at its URL (the
 *  broker may have moved: src/client/move-hint.ts); `new` has no saved URL to change. */
const MOVED = "\n  fix: if the broker moved to a new address: claudemesh set-broker <new URL> (it checks that the address serves this mesh before saving it)";
const AGAIN = " It may have been carried out all the same: run the same command again, which sends the same key and gets that answer.";

describe("broker trouble, said the same way by new (HTTP) and send (WebSocket)", () => {
  test("each situation: one sentence, exit 6, the URL as given", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const deadUrl = `http://127.0.0.1:${dead.port}`;
    await dead.stop(true);
    await using other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<h1>Unsupported method</h1>", { status: 501, headers: { "content-type": "text/html" } }) });
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const silentUrl = `http://127.0.0.1:${silent.port}`;
    const https = team.b.url.replace("http://", "https://");
    const cases = [
      { name: "nothing listens", url: deadUrl, said: `Cannot reach the broker at ${deadUrl} (connection refused): nothing was sent. Is it running, and is the URL right?`, kept: false },
      { name: "not a broker", url: other.url.origin, said: `${other.url.origin} is not a claudemesh broker (it answered HTTP 501): nothing was done; is the URL right?`, kept: false },
      { name: "a path", url: `${team.b.url}/mesh`, said: `${team.b.url}/mesh is not a claudemesh broker (it answered HTTP 404): nothing was done; give the broker's base URL, without the path (like ${team.b.url}).`, kept: false },
      { name: "https to http", url: https, said: `Cannot reach the broker at ${https}: the TLS handshake failed, so nothing was sent. Is the broker served over http:// rather than https://?`, kept: false },
      // send's request waits for hello_ack, so over the WebSocket the silence proves it unsent.
      { name: "never answers", url: silentUrl, said: `The broker at ${silentUrl} did not answer within 500 ms.`, kept: true, sent: `The broker at ${silentUrl} did not answer within 500 ms, so nothing was sent.` },
    ] as { name: string; url: string; said: string; kept: boolean; sent?: string }[];
    try {
      const seen = await Promise.all(
        cases.map(async (c, i) => {
          const mine = join(ids.root, `new${i}`);
          const created = await cli(mine, ["new", "Team", "--broker", c.url, "--display-name", "alice"], { env: SHORT });
          const sent = await cli(pointedAt(team.dirs[0], join(ids.root, `send${i}`), c.url), ["send", "alice", "hi"], { env: SHORT });
          return { name: c.name, new: [created.code, created.stderr, pendingIn(mine).length], send: [sent.code, sent.stderr] };
        }),
      );
      expect(seen).toEqual(cases.map((c) => ({ name: c.name, new: [6, `claudemesh: ${c.said}${c.kept ? AGAIN : ""}\n`, c.kept ? 1 : 0], send: [6, `claudemesh: ${c.sent ?? c.said}${MOVED}\n`] })));
    } finally {
      silent.stop(true);
    }
  }, 60_000);

  test("answers no broker gives, and a proxy's busy answer: new keeps its key unless the answer proves nothing was done; send, which sends nothing before the socket opens, says so", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const html = (status: number) => new Response("<h1>proxy</h1>", { status, headers: { "content-type": "text/html" } });
    const cases: { status: number; created: (u: string) => string; sent: (u: string) => string; exit?: number }[] = [
      // A CDN's 520 may follow the broker's commit: not "nothing was done".
      { status: 520, created: (u: string) => `${u} answered HTTP 520, which no claudemesh broker gives: a proxy in front of it may have failed after passing the request on, or the URL is not a broker's; check the URL.${AGAIN}`, sent: (u: string) => `${u} answered HTTP 520 instead of opening a WebSocket: nothing was sent; is it a claudemesh broker's URL?${MOVED}` },
      { status: 200, created: (u: string) => `${u} answered HTTP 200 with a body that is not JSON, which no claudemesh broker gives: a proxy in front of it may have failed after passing the request on, or the URL is not a broker's; check the URL.${AGAIN}`, sent: (u: string) => `${u} answered HTTP 200 instead of opening a WebSocket: nothing was sent; is it a claudemesh broker's URL?${MOVED}` },
      { status: 502, created: (u: string) => `The broker at ${u} answered HTTP 502: it is shutting down or busy, or a proxy in front of it cannot reach it. Retry in a while.${AGAIN}`, sent: (u: string) => `The broker at ${u} answered HTTP 502: it is shutting down or busy, or a proxy in front of it cannot reach it. Retry in a while.` },
      // The broker's own refusal of an upgrade, by its status (protocol.md §2.1).
      { status: 429, created: (u: string) => `${u} answered HTTP 429, which no claudemesh broker gives: a proxy in front of it may have failed after passing the request on, or the URL is not a broker's; check the URL.${AGAIN}`, sent: (u: string) => `The broker at ${u} refused the connection (HTTP 429): Too many connections from this address. Close idle ones or ask the operator to raise the limit.`, exit: 7 },
    ];
    for (const [i, c] of cases.entries()) {
      await using proxy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => html(c.status) });
      const url = proxy.url.origin;
      const dir = join(ids.root, `new${i}`);
      const created = await cli(dir, ["new", "Team", "--broker", url, "--display-name", "alice"], { env: SHORT });
      expect({ status: c.status, created: [created.code, created.stderr, pendingIn(dir).length] }).toEqual({ status: c.status, created: [6, `claudemesh: ${c.created(url)}\n`, 1] });
      const sent = await cli(pointedAt(team.dirs[0], join(ids.root, `send${i}`), url), ["send", "alice", "hi"], { env: SHORT });
      expect({ status: c.status, sent: [sent.code, sent.stderr] }).toEqual({ status: c.status, sent: [c.exit ?? 6, `claudemesh: ${c.sent(url)}\n`] });
    }
  });

  test("a certificate the client refuses (self-signed; another host's, from a trusted CA): named, with what to do; nothing was sent", async () => {
    await using team = await cliTeam(["alice"]);
    await using ids = identities(1);
    const self = makeSelfSigned(tempDir("cm-self-signed-"));
    const other = makeTestCa(tempDir("cm-other-host-"), "DNS:other.example");
    const serve = (c: { certFile: string; keyFile: string }) => Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: Bun.file(c.certFile), key: Bun.file(c.keyFile) }, fetch: () => new Response("no broker") });
    await using selfServer = serve(self);
    await using otherServer = serve(other);
    // Another host's certificate is fixed by the URL with the certificate's name: send, which has
    // a saved URL to change, names set-broker.
    const cases: { url: string; env: Record<string, string>; why: string; fix: string }[] = [
      { url: `https://localhost:${selfServer.port}`, env: {}, why: "its TLS certificate is self-signed, so nothing was sent. Give the broker (its tlsCert) or the reverse proxy in front of it a certificate from a CA (Let's Encrypt, or a private CA whose certificate you put in NODE_EXTRA_CA_CERTS).", fix: "" },
      { url: `https://localhost:${otherServer.port}`, env: { NODE_EXTRA_CA_CERTS: other.caFile }, why: "its TLS certificate is for another host name, so nothing was sent. Use the broker URL with the name the certificate gives (the broker's publicUrl).", fix: MOVED },
    ];
    for (const [i, c] of cases.entries()) {
      const created = await cli(join(ids.root, `new${i}`), ["new", "Team", "--broker", c.url, "--display-name", "alice"], { env: c.env });
      const sent = await cli(pointedAt(team.dirs[0], join(ids.root, `send${i}`), c.url), ["send", "alice", "hi"], { env: c.env });
      const said = `claudemesh: Cannot reach the broker at ${c.url}: ${c.why}`;
      expect({ new: [created.code, created.stderr], send: [sent.code, sent.stderr] }).toEqual({ new: [6, `${said}\n`], send: [6, `${said}${c.fix}\n`] });
    }
  });

  test("a broker route pasted for its base URL is refused before anything is contacted, naming the base", async () => {
    await using ids = identities(1);
    const r = await cli(ids.dirs[0]!, ["new", "Team", "--broker", "http://127.0.0.1:9/mesh/health/ready"]);
    expect([r.code, r.stderr]).toEqual([2, `claudemesh: --broker: "http://127.0.0.1:9/mesh/health/ready" is the address of the broker's /health/ready route, not of the broker: give its base URL, http://127.0.0.1:9/mesh.\n  fix: see \`claudemesh new --help\`\n`]);
  });

  // A number without a unit is milliseconds, and under a second it is refused as the broker's own
  // durations are (config/load.ts checkDuration): CLAUDEMESH_TIMEOUT=30 waited 30 ms.
  test.each([
    ["no duration", "soon", "expected milliseconds or a duration like 500ms, 30s, 5m, 2h, 7d"],
    ["a number without a unit under a second", "30", "30 ms is below the minimum of 1s for a number without a unit; write 30s, or 30ms if you mean milliseconds"],
    ["over an hour", "2h", "must be between 1ms and 1h"],
  ])("CLAUDEMESH_TIMEOUT that is %s is a usage error that says what to write", async (_, timeout, why) => {
    await using ids = identities(1);
    const r = await cli(ids.dirs[0]!, ["new", "Team", "--broker", "http://127.0.0.1:9"], { env: { CLAUDEMESH_TIMEOUT: timeout } });
    expect([r.code, r.stderr, pendingIn(ids.dirs[0]!)]).toEqual([2, `claudemesh: CLAUDEMESH_TIMEOUT is "${timeout}": ${why}.\n  fix: unset CLAUDEMESH_TIMEOUT (the default is 15s), or set it to a duration like 30s\n`, []]);
  });

  test("inbox --follow says on stderr when the connection drops and when it is back", async () => {
    await using team = await cliTeam(["alice"]);
    using proxy = linkProxy(team.b.port);
    const dir = pointedAt(team.dirs[0], join(team.root, "via-proxy"), proxy.url);
    await using follower = cliStream(dir, ["inbox", "--follow"]);
    await until(() => follower.stderr().includes("Following"), "the follower to start");
    proxy.cut();
    await until(() => follower.stderr().includes("again."), "the follower to reconnect");
    expect(follower.stderr().split("\n").slice(1)).toEqual([`Lost the connection to the broker at ${proxy.url}; reconnecting until it answers (Ctrl-C to stop).`, `Connected to the broker at ${proxy.url} again.`, ""]);
  }, 30_000);
});

describe("list and doctor say what send says", () => {
  test("a 404, a 502, nothing listening and silence: list's column, doctor's check and send's error are one sentence (without \"nothing was sent\" from the two that send nothing); a broker not ready says why", async () => {
    await using team = await cliTeam(["alice"]);
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const deadUrl = `http://127.0.0.1:${dead.port}`;
    await dead.stop(true);
    await using missing = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("Not Found", { status: 404 }) });
    await using gateway = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<h1>Bad Gateway</h1>", { status: 502, headers: { "content-type": "text/html" } }) });
    // What a broker whose database cannot be written answers (docs/operations.md, /health/ready).
    await using unready = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ status: "not_ready", reason: "db_unwritable", schemaVersion: 9, expectedVersion: 9 }, { status: 503 }) });
    // A broker draining after SIGTERM: the cause is known, so it is said (not "busy").
    await using draining = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ status: "not_ready", reason: "draining", schemaVersion: 9, expectedVersion: 9 }, { status: 503 }) });
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const silentUrl = `http://127.0.0.1:${silent.port}`;
    const busy503 = (u: string) => `The broker at ${u} answered HTTP 503: it is shutting down or busy, or a proxy in front of it cannot reach it. Retry in a while.`;
    // `moved`: nothing usable answered there, as from a broker that moved away (doctor and send
    // name set-broker); a broker that answered busy or not ready is where it was.
    const cases: { name: string; url: string; said: string; sent?: string; moved?: boolean }[] = [
      { name: "draining", url: draining.url.origin, said: `The broker at ${draining.url.origin} is shutting down or restarting (its /health/ready says draining). Retry in a moment.`, sent: busy503(draining.url.origin) },
      // list and doctor only read: "nothing was sent (done)" is send's to say.
      { name: "404", url: missing.url.origin, said: `${missing.url.origin} is not a claudemesh broker (it answered HTTP 404); is the URL right?`, sent: `${missing.url.origin} is not a claudemesh broker (it answered HTTP 404): nothing was done; is the URL right?`, moved: true },
      { name: "502", url: gateway.url.origin, said: `The broker at ${gateway.url.origin} answered HTTP 502: it is shutting down or busy, or a proxy in front of it cannot reach it. Retry in a while.` },
      { name: "nothing listens", url: deadUrl, said: `Cannot reach the broker at ${deadUrl} (connection refused). Is it running, and is the URL right?`, sent: `Cannot reach the broker at ${deadUrl} (connection refused): nothing was sent. Is it running, and is the URL right?`, moved: true },
      { name: "never answers", url: silentUrl, said: `The broker at ${silentUrl} did not answer within 500 ms.`, sent: `The broker at ${silentUrl} did not answer within 500 ms, so nothing was sent.`, moved: true },
      // The WebSocket upgrade gets no body to say why: send says busy there, as for any 503.
      { name: "not ready", url: unready.url.origin, said: `The broker at ${unready.url.origin} runs but is not ready: it cannot write its database. Retry in a while; its log says more.`, sent: busy503(unready.url.origin) },
    ];
    try {
      const seen = await Promise.all(
        cases.map(async (c, i) => {
          const dir = pointedAt(team.dirs[0], join(team.root, `health${i}`), c.url);
          const [listed, listedJson, doctor, sent] = await Promise.all([cli(dir, ["list"], { env: SHORT }), cli(dir, ["list", "--json"], { env: SHORT }), cli(dir, ["doctor", "--json"], { env: SHORT }), cli(dir, ["send", "alice", "hi"], { env: SHORT })]);
          const check = doctor.json().checks.find((k: { check: string }) => k.check === `${team.mesh.slug}: broker`);
          const { reachable, brokerProblem } = listedJson.json().meshes[0];
          return { name: c.name, list: [listed.code, listed.stdout], listJson: [listedJson.code, reachable, brokerProblem], doctor: [doctor.code, check], send: [sent.code, sent.stderr] };
        }),
      );
      expect(seen).toEqual(
        cases.map((c) => ({
          name: c.name,
          list: [0, `${team.mesh.slug}  "alice" (owner)  ${c.url}  UNREACHABLE: ${c.said}\n`],
          listJson: [0, false, c.said],
          doctor: [5, { check: `${team.mesh.slug}: broker`, ok: false, detail: c.said, fix: c.moved ? `check that claudemesh serve runs at ${c.url}; ${MOVED.slice("\n  fix: ".length)}` : "check the broker URL and that claudemesh serve runs there" }],
          send: [6, `claudemesh: ${c.sent ?? c.said}${c.moved ? MOVED : ""}\n`],
        })),
      );
    } finally {
      silent.stop(true);
    }
  }, 60_000);
});
