// mesh_send whose link drops while it is still looking up the recipient's name (peer_lookup), before
// its `send` request. The lookup is a read, which the client would ask again after reconnecting,
// but the tool does not wait for a reconnect (it may take up to the request timeout: a broker
// crashed, mcp-crash-race.test.ts): it answers at once that nothing was sent and to try again, and
// the same call then delivers the message, once. (It used to fail with "may or may not have taken
// effect" and no client_message_id, and a careful model would not retry: the message lost.)
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { churnProxy } from "../helpers/tcp-proxy.ts";

test("a link cut during mesh_send's name lookup says nothing was sent; the call again delivers the message once", async () => {
  await using b = await startBroker();
  using proxy = await churnProxy(b.port);
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  // Everyone reaches the broker through the proxy: it is the URL in the config.
  await cliMesh(proxy.url, [[alice, "alice"], [bob, "bob"]]);
  await using a = await startMcp(alice, "sess-alice-lookupcut");
  await waitConnected(a);

  // The next frame alice's server writes is mesh_send's peer_lookup: it reaches the broker, and the
  // link is cut before the answer comes back.
  expect(proxy.cut("after-chunk", () => 0)).toBe(true);
  const cut = await a.call("mesh_send", { to: "bob", message: "deploy at 14:00" });
  expect(proxy.made["after-chunk"]).toBe(1);
  expect(cut).toEqual({ isError: true, text: expect.stringContaining('Nothing was sent: looking up "bob" on mesh team-x failed') });
  await waitConnected(a);
  const sent = await a.call("mesh_send", { to: "bob", message: "deploy at 14:00" });
  expect(sent).toMatchObject({ isError: false });
  expect(sent.text).toStartWith('Sent to "bob"');
  const inbox = ok(await cli(bob, ["inbox"])).stdout;
  expect(inbox.split("deploy at 14:00").length - 1).toBe(1);
}, 60_000);
