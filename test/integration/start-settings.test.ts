// The start-up configuration gate (reliability plan T26): `serve` reports the settings it runs
// with, read back from SQLite rather than the ones it asked for, and the WebSocket does what that
// report says (no compression negotiated even when a client offers it).
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { upgradeRequest } from "../helpers/raw.ts";

/** The JSON "broker listening" line of a serve's stderr. */
const listening = (stderr: string) => JSON.parse(stderr.split("\n").find((l) => l.includes('"msg":"broker listening"'))!);

/** The response head to an upgrade that offers permessage-deflate. */
async function upgradeHead(port: number): Promise<string> {
  const sock = connect({ port, host: "127.0.0.1" });
  const offer = upgradeRequest(port).replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
  sock.write(offer);
  let got = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      sock.on("data", (chunk) => {
        got += chunk.toString("latin1");
        if (got.includes("\r\n\r\n")) resolve(got.slice(0, got.indexOf("\r\n\r\n")));
      });
      sock.on("error", reject);
      sock.on("close", () => reject(new Error(`closed before a response head: ${JSON.stringify(got)}`)));
    });
  } finally {
    sock.destroy();
  }
}

describe("serve's start-up settings", () => {
  test("synchronous full: WAL read back, flushes before answers, limits as configured, no deflate", async () => {
    await using b = await spawnBroker(tempDir("cm-settings-"), ["--max-frame-bytes", "32768"]);
    const line = listening(b.stderr());
    expect(line.synchronous).toBe("full");
    // "full" is SQLite's NORMAL plus the broker's own flush of the WAL before every answer.
    expect(line.storage).toMatchObject({ journalMode: "wal", sqliteSynchronous: "normal", foreignKeys: true, walFlushBeforeAnswers: true });
    expect(line.storage.busyTimeoutMs).toBeGreaterThan(0);
    expect(line.storage.sqlite).toMatch(/^3\.\d+\.\d+$/);
    expect(line.websocket).toEqual({ maxFrameBytes: 32768, maxPayloadLength: 4 * 32768, perMessageDeflate: false, backpressureLimit: expect.any(Number), helloTimeoutMs: 10_000 });
    // The operator token of the first start is in the plain-text banner only, never in a JSON line.
    const jsonLines = b.stderr().split("\n").filter((l) => l.startsWith("{"));
    expect(jsonLines.length).toBeGreaterThan(0);
    expect(jsonLines.some((l) => /cmo_/.test(l))).toBe(false);

    const head = await upgradeHead(Number(new URL(b.url).port));
    expect(head).toStartWith("HTTP/1.1 101");
    expect(head.toLowerCase()).not.toContain("sec-websocket-extensions");
  });

  test("synchronous normal: no flush before answers, and the report says so", async () => {
    await using b = await spawnBroker(tempDir("cm-settings-"), ["--synchronous", "normal"]);
    const line = listening(b.stderr());
    expect(line.synchronous).toBe("normal");
    expect(line.storage).toMatchObject({ journalMode: "wal", sqliteSynchronous: "normal", walFlushBeforeAnswers: false });
  });
});
