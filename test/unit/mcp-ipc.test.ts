// The hooks' local channel (src/mcp/ipc.ts) on a real Unix socket: one request per connection,
// however its bytes are split into chunks; bytes after it are never taken for it again (each later
// chunk used to handle it once more: three calls for one request); a request past the size bound
// is cut off unhandled.
import { afterEach, expect, test } from "bun:test";
import { createConnection, type Socket } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { askIpc, serveIpc, type IpcRequest } from "../../src/mcp/ipc.ts";
import { until } from "../helpers/until.ts";
import { scratchDir } from "../preload.ts";

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

/** A server on a fresh socket whose handler records each request and answers once `release()`
 *  is called (at once if `held` is false). */
async function server(held = false) {
  const dir = scratchDir("cm-ipc-");
  const path = join(dir, "s.sock");
  const handled: IpcRequest[] = [];
  const gate = Promise.withResolvers<void>();
  if (!held) gate.resolve();
  const srv = serveIpc(path, async (req) => (handled.push(req), await gate.promise, { ok: handled.length }), (err) => { throw err; });
  await srv.ready;
  cleanup.push(() => (srv.close(), rmSync(dir, { recursive: true, force: true })));
  return { path, handled, release: () => gate.resolve() };
}

/** A raw client: `write` resolves once the bytes are handed to the kernel; `replies` holds what
 *  came back; `closed` resolves when the server ends the connection. */
function rawClient(path: string) {
  const sock: Socket = createConnection(path);
  let out = "";
  const closed = new Promise<string>((r) => sock.on("close", () => r(out)));
  sock.on("data", (d: Buffer) => (out += d.toString("utf8")));
  sock.on("error", () => {});
  cleanup.push(() => sock.destroy());
  const connected = new Promise<void>((r) => sock.once("connect", () => r()));
  return {
    write: async (b: Buffer | string) => (await connected, await new Promise<void>((r) => sock.write(b, () => r()))),
    closed,
  };
}

test("a request split across chunks (inside a UTF-8 character too) is handled once, whole", async () => {
  const s = await server();
  const bytes = Buffer.from(JSON.stringify({ op: "seen", ids: ["café-1"] }) + "\n");
  const cut = bytes.indexOf(Buffer.from("é")) + 1; // between the two bytes of "é"
  const c = rawClient(s.path);
  await c.write(bytes.subarray(0, 5));
  await Bun.sleep(20); // nothing on the server marks a partial read: let it read each part alone
  await c.write(bytes.subarray(5, cut));
  await Bun.sleep(20);
  await c.write(bytes.subarray(cut));
  expect(await c.closed).toBe(JSON.stringify({ ok: 1 }) + "\n");
  expect(s.handled).toEqual([{ op: "seen", ids: ["café-1"] }]);
});

test("bytes after the request, in later chunks, are not taken for it again", async () => {
  const s = await server(true);
  const c = rawClient(s.path);
  await c.write(JSON.stringify({ op: "seen", ids: ["a"] }) + "\n");
  await until(() => s.handled.length === 1, "the request to be handled");
  await c.write("x");
  await c.write(JSON.stringify({ op: "offline" }) + "\n");
  // A request on another connection, answered only once the server has read past the extra
  // chunks above (written before it): each of them used to start the first request again.
  const other = askIpc<{ ok: number }>(s.path, { op: "peers" }, 2000);
  await until(() => s.handled.length >= 2, "the other connection's request");
  s.release();
  expect(await other).toEqual({ ok: 2 });
  expect(await c.closed).toBe(JSON.stringify({ ok: 2 }) + "\n");
  expect(s.handled).toEqual([{ op: "seen", ids: ["a"] }, { op: "peers" }]);
});

test("a request longer than the bound is cut off unhandled", async () => {
  const s = await server();
  const c = rawClient(s.path);
  void c.write(Buffer.alloc(70 * 1024, "a"));
  expect(await c.closed).toBe("");
  expect(s.handled).toEqual([]);
});
