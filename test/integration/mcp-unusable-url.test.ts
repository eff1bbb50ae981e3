// A running MCP server reads its mesh's broker URL from config.json before each connection attempt
// (src/mcp/mesh-on-disk.ts), so that it follows `claudemesh set-broker`. The file is the user's
// and can be edited by hand (earlier versions told people to): a URL no WebSocket can be opened to
// (another scheme, no host) must leave the server running, saying in its tools what is wrong and
// the command that fixes it, and connecting again once the URL is right. The fix is said for what
// is wrong (the saved URL is none), not as a broker that moved (Session 36, "set-broker's
// leftovers").
import { expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, until, useBroker } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

/** What the tools say of the last attempt with the saved URL `ftp://mesh.example.com`. */
const lastAttempt = (slug: string) =>
  `Its last attempt: The broker URL saved for mesh "${slug}" cannot be used: "ftp://mesh.example.com" is not a broker URL: one starts with http://, https://, ws:// or wss://. Fix: claudemesh set-broker <the broker's http(s):// URL> --mesh ${slug}; it connects by itself at its next attempt, without a restart.`;

test("a broker URL edited into something unusable while the server runs: it stays up, says so, and follows the fix", async () => {
  const dataDir = tempDir("cm-mcp-bad-url-");
  await using ids = identities(1);
  const [bob] = ids.dirs as [string];
  const first = await startBroker({}, { dataDir });
  const { slug } = await cliMesh(first.url, [[bob, "bob"]]);
  await using s = await startMcp(bob, "sess-bob-bad-url");
  await waitConnected(s);
  useBroker(bob, "ftp://mesh.example.com");
  // The connection drops (the broker restarts); the next attempt reads the edited URL.
  await first.stop();
  await using again = await startBroker({ port: first.port }, { dataDir });
  let said = "";
  await until(async () => (said = (await s.call("mesh_peers")).text).includes("ftp://mesh.example.com"), "the tools to name the unusable URL", 20_000);
  expect(said.slice(said.indexOf("Its last attempt: "))).toBe(lastAttempt(slug));
  useBroker(bob, again.url);
  await waitConnected(s, 40_000);
});

test("a server started with an unusable broker URL: its tools say why and name set-broker, and it connects once that ran", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [bob] = ids.dirs as [string];
  const { slug } = await cliMesh(b.url, [[bob, "bob"]]);
  useBroker(bob, "ftp://mesh.example.com");
  await using s = await startMcp(bob, "sess-bob-bad-start");
  let said = "";
  // Before, the first attempt threw: the tools said "its first connection is still under way" for
  // the session's whole life, and no attempt was made again.
  await until(async () => (said = (await s.call("mesh_peers")).text).includes("ftp://mesh.example.com"), "the tools to name the unusable URL", 20_000);
  expect(said.slice(said.indexOf("Its last attempt: "))).toBe(lastAttempt(slug));
  ok(await cli(bob, ["set-broker", b.url]));
  await waitConnected(s, 40_000);
});

test("a saved URL with a password: the tools say it cannot be used, without the password", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [bob] = ids.dirs as [string];
  const { slug } = await cliMesh(b.url, [[bob, "bob"]]);
  useBroker(bob, b.url.replace("http://", "http://deploy:hunter2@"));
  await using s = await startMcp(bob, "sess-bob-password-url");
  let said = "";
  await until(async () => (said = (await s.call("mesh_peers")).text).includes("Its last attempt"), "the tools to say the last attempt", 20_000);
  expect({ said: said.includes(`"http://***@${new URL(b.url).host}" has a user`), secret: said.includes("hunter2") || s.stderr().includes("hunter2") }).toEqual({ said: true, secret: false });
  const cmd = await cli(bob, ["peers", "--mesh", slug]);
  expect({ code: cmd.code, secret: cmd.stderr.includes("hunter2") }).toEqual({ code: 5, secret: false });
});
