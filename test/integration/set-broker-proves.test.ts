// What set-broker's check proves, and what it does not (docs/security.md, limitation 15): a
// broker holds no key, so its hello_ack proves nothing a server could not say. A server that is no
// broker and holds no database passes the check by answering a hello with the mesh id and member
// id that hello carries, and the owner key every member (and anyone reading a plain-http hello_ack)
// knows. The check tells an honest broker of this mesh from a mistyped address or another
// broker; only the URL (its TLS certificate) says who runs what answers there. So what answers at
// the URL given is not the mesh's broker yet: its refusal of the key as removed is said as that
// URL's word, with nothing saved, not as the mesh's verdict with `leave --yes` to forget it.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { echoingServer } from "../helpers/echo-server.ts";

test("a server that holds nothing of the mesh passes set-broker's check by echoing the hello", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  const { members } = await cliMesh(b.url, [[alice, "alice"]]);
  await using fake = echoingServer(members.alice!.pubkey);
  const fakeUrl = `http://127.0.0.1:${fake.port}`;
  const moved = await cli(alice, ["set-broker", fakeUrl, "--json"]);
  expect({ code: moved.code, changed: moved.json().changed, saved: JSON.parse(readFileSync(join(alice, "config.json"), "utf8")).meshes[0].brokerUrl }).toEqual({ code: 0, changed: true, saved: fakeUrl });
});

/** A WebSocket server that refuses every hello as a broker refuses a removed member's key. */
function refusingAsRemoved() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("no", { status: 404 })),
    websocket: {
      message(ws) {
        ws.send(JSON.stringify({ type: "error", code: "revoked", message: "This member left or was removed from the mesh; its key can never connect again. Ask an owner or admin for a new invite.", retryable: false }));
        ws.close(1008, "revoked");
      },
    },
  });
}

test("a URL whose server refuses the key as removed: said as that URL's word, nothing saved, no `leave` offered", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  const { slug } = await cliMesh(b.url, [[alice, "alice"]]);
  await using other = refusingAsRemoved();
  const otherUrl = `http://127.0.0.1:${other.port}`;
  const saved = readFileSync(join(alice, "config.json"), "utf8");
  const moved = await cli(alice, ["set-broker", otherUrl]);
  expect(moved.code).toBe(3);
  expect(moved.stderr).toStartWith(`claudemesh: The broker at ${otherUrl} refuses your key in mesh ${slug} as removed from it`);
  expect(moved.stderr).toContain(`Nothing was saved: ${slug} still uses ${b.url}.`);
  expect(moved.stderr).toContain("\n  fix: if that address is the mesh's broker, only an owner or admin can let you back in, with a new invite; if not, check the URL with the broker's operator\n");
  expect(moved.stderr).not.toContain("leave");
  expect(readFileSync(join(alice, "config.json"), "utf8")).toBe(saved);
  // The mesh works as before at its own broker, and is not marked as removed.
  ok(await cli(alice, ["peers"]));
  expect(ok(await cli(alice, ["list", "--json"])).json().meshes[0].removedAt).toBeNull();
});
