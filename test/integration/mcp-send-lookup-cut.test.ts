// mesh_send whose link drops while it is still looking up the recipient's name (list_peers), before
// its `send` request: nothing was sent, and the tool says so and to try again. The request table's
// words for a dropped request ("may or may not have taken effect") are true of the lookup, not of
// the message, and without a client_message_id a careful model would not retry: the message lost.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { churnProxy } from "../helpers/tcp-proxy.ts";

test("a link cut during mesh_send's name lookup says nothing was sent; the retry delivers it once", async () => {
  await using b = await startBroker();
  using proxy = await churnProxy(b.port);
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  // Everyone reaches the broker through the proxy: it is the URL in the config.
  await cliMesh(proxy.url, [[alice, "alice"], [bob, "bob"]]);
  await using a = await startMcp(alice, "sess-alice-lookupcut");
  await waitConnected(a);

  // The next frame alice's server writes is mesh_send's list_peers: it reaches the broker, and the
  // link is cut before the answer comes back.
  expect(proxy.cut("after-chunk", () => 0)).toBe(true);
  const failed = await a.call("mesh_send", { to: "bob", message: "deploy at 14:00" });
  expect(proxy.made["after-chunk"]).toBe(1);
  expect(failed).toEqual({ isError: true, text: 'unavailable: Nothing was sent: looking up "bob" on mesh team-x failed (the connection to the broker closed before it answered), before the message went out. Try again (the same call; it reconnects by itself).' });
  expect(ok(await cli(bob, ["inbox", "--json"])).stdout).not.toContain("deploy at 14:00");

  // As told: the same call again, once the server has reconnected.
  await waitConnected(a);
  expect(await a.call("mesh_send", { to: "bob", message: "deploy at 14:00" })).toMatchObject({ isError: false });
  const inbox = ok(await cli(bob, ["inbox"])).stdout;
  expect(inbox.split("deploy at 14:00").length - 1).toBe(1);
}, 60_000);
