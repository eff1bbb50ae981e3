// Request bodies through `claudemesh dashboard`'s local server (src/cli/dashboard-server.ts,
// docs/dashboard.md): capped at 1 MiB as the broker caps them, with the broker's JSON 413
// `frame_too_large` (which the page shows), whether the size is declared or found while reading;
// a body nothing reads closes the connection with the answer instead of being taken in. Bun's own
// cap used to answer an empty 413, which the page could only show as "HTTP 413".
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { startLocalDashboard } from "../../src/cli/dashboard-server.ts";

const MiB = 1024 * 1024;

/** A body sent in 64 KiB chunks for as long as it is read, without a Content-Length. */
const endless = () => new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024).fill(0x20)) });

test("a body over 1 MiB gets the broker's JSON 413; one at the limit reaches the broker", async () => {
  await using b = await startBroker();
  const local = startLocalDashboard(b.url);
  try {
    const post = async (body: BodyInit) => {
      const res = await fetch(`${local.base}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json", origin: local.base }, body, duplex: "half" } as RequestInit);
      return { status: res.status, csp: res.headers.has("content-security-policy"), body: await res.json() };
    };
    const refused = { status: 413, csp: true, body: { error: { code: "frame_too_large", message: expect.stringContaining("over the limit of 1048576 bytes (1 MiB)"), retryable: false } } };
    expect(await post(" ".repeat(MiB + 1))).toEqual(refused);
    expect(await post(endless())).toEqual(refused);
    // Exactly the limit is passed on: the broker reads it and finds it is not JSON.
    expect(await post(" ".repeat(MiB - 1) + "{")).toEqual({ status: 400, csp: true, body: { error: expect.objectContaining({ code: "invalid_json" }) } });
  } finally {
    await local.stop();
  }
}, 30_000);

test("an endless body is answered and the connection closed, at the API and at a path that reads none", async () => {
  await using b = await startBroker();
  const local = startLocalDashboard(b.url);
  try {
    const answer = async (path: string) => {
      const res = await fetch(`${local.base}${path}`, { method: "POST", headers: { "content-type": "application/json", origin: local.base }, body: endless(), duplex: "half" } as RequestInit);
      return { status: res.status, connection: res.headers.get("connection"), code: ((await res.json()) as { error: { code: string } }).error.code };
    };
    expect(await answer("/v1/dashboard/login")).toEqual({ status: 413, connection: "close", code: "frame_too_large" });
    expect(await answer("/")).toEqual({ status: 404, connection: "close", code: "not_found" });
  } finally {
    await local.stop();
  }
}, 30_000);
