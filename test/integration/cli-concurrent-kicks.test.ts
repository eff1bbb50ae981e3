// Two kicks by the owner at once (two terminals): each changes only what it records in
// config.json, on the file as it is then (changeMesh in src/client/local/config-file.ts), so
// neither removal record nor key is lost, and the later rotation takes the next epoch.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, cliStream, identities, ok, until } from "../helpers/cli.ts";

/** An HTTP and WebSocket front for the broker at `target` that holds the first frame of type
 *  `type` a client sends until release() (a slow link under one request). */
function holdFirst(target: string, type: string) {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let held = 0;
  type Link = { upstream: WebSocket; opened: Promise<void> };
  const server = Bun.serve<Link>({
    port: 0,
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (req.headers.get("upgrade") === "websocket") {
        const upstream = new WebSocket(`${target.replace(/^http/, "ws")}${url.pathname}`);
        const opened = new Promise<void>((r) => upstream.addEventListener("open", () => r()));
        return srv.upgrade(req, { data: { upstream, opened } }) ? undefined : new Response("upgrade failed", { status: 400 });
      }
      return fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.method === "GET" ? null : await req.arrayBuffer() });
    },
    websocket: {
      open(ws) {
        ws.data.upstream.addEventListener("message", (ev) => ws.send(ev.data as string));
        ws.data.upstream.addEventListener("close", (ev) => ws.close(ev.code === 1006 ? 1011 : ev.code, ev.reason));
      },
      async message(ws, text) {
        await ws.data.opened;
        if (held === 0 && JSON.parse(String(text)).type === type) {
          held++;
          await gate;
        }
        ws.data.upstream.send(text);
      },
      close(ws) {
        ws.data.upstream.close();
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, held: () => held, release, [Symbol.asyncDispose]: async () => void (release(), server.stop(true)) };
}

test("kicks run at once keep each other's removal record and keys; the later one rotates past the earlier", async () => {
  await using b = await startBroker();
  await using front = holdFirst(b.url, "member_revoke");
  await using ids = identities(4);
  const [alice, bob, carol, dave] = ids.dirs;
  const { members } = await cliMesh(front.url, [
    [alice!, "alice"],
    [bob!, "bob"],
    [carol!, "carol"],
    [dave!, "dave"],
  ]);

  // The kick of bob has recorded its removal and waits on the broker for it.
  await using kickBob = cliStream(alice!, ["kick", "bob", "--json"]);
  await until(() => front.held() === 1 || kickBob.proc.exitCode !== null, "the kick of bob to ask the broker");
  // Meanwhile, in another terminal, carol is kicked and the key rotated to epoch 1.
  expect(ok(await cli(alice!, ["kick", "carol", "--json"])).json().keyEpoch).toBe(1);
  front.release();
  await kickBob.finished();
  expect({ code: kickBob.proc.exitCode, stderr: kickBob.stderr(), keyEpoch: JSON.parse(kickBob.stdout()).keyEpoch }).toEqual({ code: 0, stderr: "", keyEpoch: 2 });

  const entry = JSON.parse(readFileSync(join(alice!, "config.json"), "utf8")).meshes[0];
  expect({ removedKeys: [...entry.removed.keys].sort(), epochs: entry.meshKeys.map((k: { epoch: number }) => k.epoch) }).toEqual({
    removedKeys: [members.bob!.pubkey, members.carol!.pubkey].sort(),
    epochs: [0, 1, 2],
  });
  // dave, the one left, got the newest key: he reads what is sent under it.
  ok(await cli(alice!, ["topic", "post", "general", "after both kicks"]));
  const read = ok(await cli(dave!, ["inbox", "--json"])).json();
  expect({ bodies: read.messages.map((m: { body: string }) => m.body), waiting: read.waitingForKeys }).toEqual({ bodies: ["after both kicks"], waiting: 0 });
}, 60_000);
