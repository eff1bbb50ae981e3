// Every HTTP route answers the same whatever the Host header names: a short one (`x`, `a.b`, a
// docker service name) is as good as `localhost:PORT`. Elysia finds the path by default from
// index 11 of the URL on, which made every route under `Host: x` a 405 (docs/protocol.md §6).
import { expect, test } from "bun:test";
import { connect as tcp } from "node:net";
import { startBroker, type TestBroker } from "../helpers/broker.ts";

type Req = { method: string; path: string; headers?: string; body?: string };

/** `req` over a fresh socket with this Host header (null: an HTTP/1.0 request without one): the
 *  status code, and the body's error code (or its first 20 characters when it is no error). */
async function ask(b: TestBroker, host: string | null, { method, path, headers = "", body }: Req): Promise<{ status: string; body: string }> {
  const content = body === undefined ? "" : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  // An upgrade keeps the socket open: its answer is whole once the head is in.
  const close = headers.includes("Upgrade:") ? "" : "Connection: close\r\n";
  const raw = await new Promise<string>((resolve, reject) => {
    let text = "";
    const socket = tcp({ host: "127.0.0.1", port: Number(new URL(b.url).port) }, () => socket.write(`${method} ${path} ${host === null ? "HTTP/1.0" : `HTTP/1.1\r\nHost: ${host}`}\r\n${close}${headers}${content}\r\n${body ?? ""}`));
    socket.on("data", (d) => {
      text += d.toString();
      if (!close && text.includes("\r\n\r\n")) socket.end();
    });
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
  const [head, rest = ""] = raw.split("\r\n\r\n") as [string, string?];
  return { status: head.split(" ")[1]!, body: /"code":"([a-z_]+)"/.exec(rest)?.[1] ?? rest.slice(0, 20) };
}

const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

const requests: Req[] = [
  { method: "GET", path: "/health" },
  { method: "HEAD", path: "/health/ready" },
  { method: "GET", path: "/metrics" },
  { method: "POST", path: "/v1/meshes", body: "{}" },
  { method: "POST", path: "/hook/set-status", body: '{"status":"idle"}' },
  { method: "GET", path: "/" },
  { method: "GET", path: "/v1/dashboard/mesh" },
  { method: "GET", path: "/v1/dashboard/topics/general/history?after=3" },
  { method: "POST", path: "/v1/dashboard/invites/inv_x/revoke", body: "{}" },
  { method: "DELETE", path: "/health" },
  { method: "GET", path: "/no/such/route" },
  { method: "GET", path: "/ws" },
  { method: "GET", path: "/ws", headers: upgrade },
];

test("a short Host header routes every request as a long one does", async () => {
  await using b = await startBroker();
  const { port } = new URL(b.url);
  for (const req of requests) {
    const want = await ask(b, `localhost:${port}`, req);
    for (const host of ["x", "xy", "a.b", "abc", "x:1", `x:${port}`]) {
      expect({ host, ...req, ...(await ask(b, host, req)) }).toEqual({ host, ...req, ...want });
    }
  }
});

test("an HTTP/1.0 request without Host (a load balancer's health check) routes as one with Host", async () => {
  await using b = await startBroker();
  const { port } = new URL(b.url);
  expect(await ask(b, null, { method: "GET", path: "/health" })).toEqual({ status: "200", body: expect.stringContaining("ok") });
  for (const req of requests.filter((r) => !r.headers)) {
    expect({ ...req, ...(await ask(b, null, req)) }).toEqual({ ...req, ...(await ask(b, `localhost:${port}`, req)) });
  }
});

test("a request path with a fragment is refused (400), not routed as the path without it", async () => {
  await using b = await startBroker();
  for (const req of [{ method: "GET", path: "/health#x" }, { method: "POST", path: "/v1/meshes#x", body: "{}" }, { method: "GET", path: "/v1/dashboard/me?a=#b" }]) {
    expect({ ...req, ...(await ask(b, "x", req)) }).toEqual({ ...req, status: "400", body: "invalid_argument" });
  }
});
