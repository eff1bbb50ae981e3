// set-broker asks the new address for two lists after its hello is accepted (the open invites and
// the members: what the move leaves to do). A server that accepts the hello and then never
// answers must not hold the command for two request timeouts (15 s each, one after the other):
// both are asked at once, with a wait of their own of a few seconds, and the result says which
// did not answer. (Session 36, "set-broker's leftovers".) A server that accepts the connection and
// never answers at all (no WebSocket handshake, no hello_ack) must not hold the check for the 15 s
// every command waits for its own broker: the check gives up within a few seconds, naming the URL
// and what to try. (Session 37, "the CLI's leftovers".)
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { echoingServer } from "../helpers/echo-server.ts";

test("a new address that accepts the hello and answers nothing after it: set-broker is done within seconds and says what did not answer", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  const { slug, members } = await cliMesh(b.url, [[alice, "alice"]]);
  await using silent = echoingServer(members.alice!.pubkey, "ignore");
  const url = `http://127.0.0.1:${silent.port}`;

  const started = performance.now();
  const moved = await cli(alice, ["set-broker", url, "--json"], { timeoutMs: 45_000 });
  const tookMs = performance.now() - started;
  expect({ code: moved.code, json: moved.json(), stderr: moved.stderr }).toEqual({
    code: 0,
    json: expect.objectContaining({ broker: url, previous: b.url, changed: true, openInvites: null, otherMembers: null, unanswered: ["open invites", "members"] }),
    stderr: `claudemesh: warning: The broker at ${url} accepted the hello but did not list the open invites nor the members within 5 s. A broker that answers nothing after the hello fails every command with a timeout: if that goes on, go back with claudemesh set-broker ${b.url}\n`,
  });
  // The lists' own wait (5 s, asked together), plus the command's start: well under one request
  // timeout (15 s); before, it was two of them one after the other.
  expect(tookMs).toBeLessThan(12_000);
  expect(JSON.parse(readFileSync(join(alice, "config.json"), "utf8")).meshes[0].brokerUrl).toBe(url);

  // Said in the human result too, next to what the lists would have said.
  const back = await cli(alice, ["set-broker", b.url]);
  expect(back.code).toBe(0);
  const again = await cli(alice, ["set-broker", url], { timeoutMs: 45_000 });
  expect({ code: again.code, stdout: again.stdout.split("\n").slice(2) }).toEqual({
    code: 0,
    stdout: [`The open invites could not be listed; links made before name ${b.url}: claudemesh invite list shows them, to revoke and make again.`, "Other members' machines keep the old URL until each runs: " + `claudemesh set-broker ${url} --mesh ${slug}`, ""],
  });
}, 90_000);

test("a new address that accepts the connection and never answers: set-broker gives up within 5 s, names the URL and what to try, and saves nothing", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  const { slug } = await cliMesh(b.url, [[alice, "alice"]]);
  // Takes the TCP connection and the upgrade request, and never writes a byte back.
  const mute = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const url = `http://127.0.0.1:${mute.port}`;
  const config = () => JSON.parse(readFileSync(join(alice, "config.json"), "utf8")).meshes[0].brokerUrl;
  try {
    const said = (within: string) =>
      `claudemesh: The broker at ${url} did not answer within ${within}, so nothing was sent.\n` +
      `  fix: nothing there answered as a broker (a firewall that drops the connection, something else on that port, a proxy that does not pass WebSockets, or a broker that is stuck): check the URL (the one the broker's operator gives: its publicUrl); if the broker is only slow, give it longer: CLAUDEMESH_TIMEOUT=30s claudemesh set-broker ${url}. Nothing was saved: ${slug} still uses ${b.url}\n`;
    const started = performance.now();
    const r = await cli(alice, ["set-broker", url], { timeoutMs: 45_000 });
    const tookMs = performance.now() - started;
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 6, stdout: "", stderr: said("5 s") });
    // The check's own wait (5 s) and the command's start; before, the handshake's 15 s.
    expect(tookMs).toBeLessThan(10_000);
    expect(config()).toBe(b.url);
    // CLAUDEMESH_TIMEOUT, when set, is the wait: shorter here (a longer one is for a slow link).
    const short = await cli(alice, ["set-broker", url], { env: { CLAUDEMESH_TIMEOUT: "1s" } });
    expect({ code: short.code, stderr: short.stderr }).toEqual({ code: 6, stderr: said("1 s") });
    expect(config()).toBe(b.url);
    // The mesh's own broker is still used as before.
    ok(await cli(alice, ["peers"]));
  } finally {
    mute.stop(true);
  }
}, 90_000);
