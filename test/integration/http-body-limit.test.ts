// An HTTP request body over 1 MiB (docs/protocol.md §6, §6.1) is answered 413 with the catalog's
// error body (`frame_too_large`, the limit in the message), whether its size is declared
// (Content-Length: refused before it is read) or found while reading (chunked), and counted like
// any other refusal (broker_hook_requests_total for the hook). A body that is not UTF-8 is a 400
// `invalid_json` saying so, signed or not, and is not recorded against replay.
import { expect, test } from "bun:test";
import { connect } from "node:net";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { until } from "../helpers/cli.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { sha256Hex } from "../../src/crypto/hash.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { requestCanonical } from "../../src/protocol/canonical.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

const MiB = 1024 * 1024;

async function post(b: TestBroker, path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetch(`${b.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, duplex: "half" } as RequestInit);
  const json = (await res.json()) as { error?: { code: string; message: string; retryable: boolean } };
  return { status: res.status, error: json.error };
}

/** A body sent in 64 KiB chunks without a Content-Length (unless given), `total` bytes long. */
function stream(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      c.enqueue(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      sent += chunk.length;
    },
  });
}

const refused = { status: 413, error: { code: "frame_too_large", message: expect.stringContaining("over the limit of 1048576 bytes (1 MiB)"), retryable: false } };

test("a body over 1 MiB is a 413 frame_too_large with a JSON body, on every route that reads one", async () => {
  await using b = await startBroker();
  for (const path of ["/hook/set-status", "/v1/meshes", "/v1/invites/inv_x/claim", "/v1/dashboard/login", "/v1/dashboard/operator/login", "/v1/dashboard/topics/general/messages", "/v1/dashboard/invites"]) {
    expect({ path, ...(await post(b, path, " ".repeat(MiB + 1))) }).toEqual({ path, ...refused });
  }
  // Exactly the limit is read (and then found not to be JSON).
  expect(await post(b, "/hook/set-status", " ".repeat(MiB - 1) + "{")).toEqual({ status: 400, error: expect.objectContaining({ code: "invalid_json" }) });
  expect(b.logs.filter((l) => JSON.parse(l).level === "error")).toEqual([]);
});

test("the declared length is refused before the body is read; a chunked body once it passes the limit", async () => {
  await using b = await startBroker();
  // 1 GiB declared: answered from the header alone (the client stops sending once answered).
  expect(await post(b, "/v1/meshes", stream(1024 * MiB), { "content-length": String(1024 * MiB) })).toEqual({ ...refused, error: { ...refused.error, message: expect.stringContaining("Content-Length says 1073741824 bytes") } });
  expect(await post(b, "/v1/meshes", stream(8 * MiB))).toEqual(refused);
  expect(await post(b, "/hook/set-status", stream(MiB))).toEqual({ status: 400, error: expect.objectContaining({ code: "invalid_json" }) });
});

test("an oversized hook request is counted in broker_hook_requests_total", async () => {
  await using b = await startBroker();
  expect(await post(b, "/hook/set-status", " ".repeat(2 * MiB), { authorization: "Bearer x" })).toEqual(refused);
  const counted = async () => /^broker_hook_requests_total\{outcome="frame_too_large"\} 1$/m.test(await (await fetch(`${b.url}/metrics`)).text());
  await until(counted, "the refusal counted", 4000);
});

test("after the 413 the connection is closed: the rest of an endless body is not read", async () => {
  await using b = await startBroker();
  let answer = "";
  let closed = false;
  const sock = connect(Number(new URL(b.url).port), "127.0.0.1");
  sock.on("data", (d) => (answer += d)).on("close", () => (closed = true)).on("error", () => {});
  sock.write("POST /v1/meshes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  const chunk = Buffer.concat([Buffer.from("10000\r\n"), Buffer.alloc(0x10000, 0x20), Buffer.from("\r\n")]);
  const feed = () => {
    while (!closed && sock.write(chunk));
  };
  sock.on("drain", feed);
  feed();
  await until(() => closed, "the broker closed the connection");
  expect(answer).toStartWith("HTTP/1.1 413");
  expect(answer).toContain('"code":"frame_too_large"');
});

test("a body sent to a path that reads none is not taken in: the answer closes the connection", async () => {
  await using b = await startBroker();
  const raw = (head: string, chunked: boolean) =>
    new Promise<string>((resolve) => {
      let answer = "";
      let closed = false;
      const sock = connect(Number(new URL(b.url).port), "127.0.0.1");
      sock.on("data", (d) => (answer += d)).on("close", () => ((closed = true), resolve(answer))).on("error", () => {});
      sock.write(head);
      if (!chunked) return;
      const chunk = Buffer.concat([Buffer.from("10000\r\n"), Buffer.alloc(0x10000, 0x20), Buffer.from("\r\n")]);
      const feed = () => {
        while (!closed && sock.write(chunk));
      };
      sock.on("drain", feed);
      feed();
    });
  const declared = await raw("POST /no-such-route HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000000\r\n\r\n", false);
  expect(declared).toStartWith("HTTP/1.1 404");
  expect(declared.toLowerCase()).toContain("connection: close");
  const endless = await raw("POST /no-such-route HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", true);
  expect(endless).toStartWith("HTTP/1.1 404");
  expect(endless.toLowerCase()).toContain("connection: close");
});

test("a body that is not UTF-8 is a 400 invalid_json naming the encoding, even signed over its exact bytes", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  // "café" in Latin-1: 0xe9 is not UTF-8. Signed over the bytes sent, as §3.6 says.
  const bytes = new Uint8Array([...new TextEncoder().encode(`{"status":"working","meshId":"${owner.meshId}","summary":"caf`), 0xe9, ...new TextEncoder().encode('"}')]);
  const ts = Date.now();
  const signature = signDetached(requestCanonical("POST", "/hook/set-status", ts, sha256Hex(bytes)), owner.keys.secretKey);
  const seen = () => ((b.ctx.store as SqliteStore).db.query("SELECT count(*) AS n FROM seen_signatures").get() as { n: number }).n;
  const before = seen();
  const headers = { "x-claudemesh-pubkey": owner.keys.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature };
  const notUtf8 = { status: 400, error: { code: "invalid_json", message: expect.stringContaining("not valid UTF-8"), retryable: false } };
  expect(await post(b, "/hook/set-status", bytes, headers)).toEqual(notUtf8);
  expect(await post(b, "/v1/meshes", new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual(notUtf8);
  expect(seen()).toBe(before);
});
