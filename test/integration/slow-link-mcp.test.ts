// The MCP server's mesh_send over a slow link (test/helpers/slow-link.ts: 1.6–2.4 s round trips,
// 20 KB/s), driven by a real MCP client over stdio against a real broker on port 0. A send whose
// answer is held up past the request timeout (15 s) by a stall must say truthfully that the message
// may have been stored and how to retry it; the retry with that client_message_id stores nothing
// twice. The broker pings every 5 s (the client takes its timings from it).
import { expect, test } from "bun:test";
import { cliStream, cliTeam, until, useBroker } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { slowLink } from "../helpers/slow-link.ts";

const SATELLITE = { delayMs: 800, jitterMs: 400, bytesPerSec: 20_000 };
/** Longer than the client's request timeout (15 s): the send's answer cannot arrive in time. */
const STALL_MS = 16_000;
const count = (text: string, marker: string) => text.split(marker).length - 1;

test("mesh_send over a slow link: sent; a send whose answer a stall holds past its timeout says it may be stored, and its retry stores it once", async () => {
  await using team = await cliTeam(["alice", "bob"], { pingInterval: 5_000 });
  let stallOnAnswer = false;
  let stalled: Promise<void> | null = null;
  // A send's result names the queues it could not reach ("undeliverable"); nothing else does.
  const link = await slowLink(team.b.port, SATELLITE, (dir, d) => {
    if (dir === "down" && stallOnAnswer && d.includes('"undeliverable"')) {
      stallOnAnswer = false;
      stalled = link.stall(STALL_MS, ["down"]);
    }
  });
  using _link = link;
  useBroker(team.dirs[0], link.url);
  await using follow = cliStream(team.dirs[1], ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "bob's follower to connect");
  await using mcp = await startMcp(team.dirs[0], "sess-alice");
  await waitConnected(mcp, 30_000);

  const first = await mcp.call("mesh_send", { to: "bob", message: "<first> over the satellite" });
  expect({ isError: first.isError, sent: first.text.startsWith('Sent to "bob"') }).toEqual({ isError: false, sent: true });

  stallOnAnswer = true;
  const held = await mcp.call("mesh_send", { to: "bob", message: "<held> the answer is held up" });
  const id = /client_message_id "([^"]+)"/.exec(held.text)?.[1];
  expect({ isError: held.isError, code: held.text.split(":")[0], mayBeStored: held.text.includes("it may have stored the message"), id: Boolean(id) }).toEqual({ isError: true, code: "timeout", mayBeStored: true, id: true });
  // It was stored: bob has it already, while alice's answer is still held.
  await until(() => follow.stdout().includes("<held>"), "the held-up message at bob");
  await stalled;
  // The stall outlasted the client's pong timeout: it is reconnecting, which the tools say at once
  // ("Not connected … Try again shortly") rather than wait for.
  await waitConnected(mcp, 30_000);
  const retried = await mcp.call("mesh_send", { to: "bob", message: "<held> the answer is held up", client_message_id: id });
  expect({ isError: retried.isError, sent: retried.text.startsWith('Sent to "bob"') }).toEqual({ isError: false, sent: true });
  // The retry was answered with the original (duplicate): bob saw it once.
  await Bun.sleep(1_000); // a second copy, if any, would be pushed to bob's direct link within this
  expect([count(follow.stdout(), "<first>"), count(follow.stdout(), "<held>")]).toEqual([1, 1]);
}, 60_000);
