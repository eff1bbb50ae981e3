// A WebSocket server that is no broker and holds nothing of any mesh, yet passes a hello: it
// answers any member hello with a made-up hello_ack carrying the mesh id and member id the hello
// gave and `ownerPubkey` (no secret: every member knows it). What set-broker's check cannot tell
// from a broker (docs/security.md, limitation 15), and a stand-in for one that stops answering.
import { PROTOCOL_VERSION } from "../../src/protocol/limits.ts";

/** `requests`: what it does with each request after the hello: refuse it (`internal`), or never
 *  answer it. */
export function echoingServer(ownerPubkey: string, requests: "refuse" | "ignore" = "refuse") {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("no", { status: 404 })),
    websocket: {
      message(ws, text) {
        const hello = JSON.parse(String(text)) as { type: string; id?: string; meshId: string; memberId: string };
        if (hello.type !== "hello") {
          if (requests === "refuse") ws.send(JSON.stringify({ type: "error", id: hello.id, code: "internal", message: "no", retryable: false }));
          return;
        }
        const mesh = { id: hello.meshId, slug: "any", name: "Any", ownerPubkey, keyEpoch: 0 };
        const limits = { maxFrameBytes: 65536, sendRatePerSec: 10, sendBurst: 10 };
        ws.send(JSON.stringify({ type: "hello_ack", protocolVersion: PROTOCOL_VERSION, presenceId: "p", memberId: hello.memberId, role: "owner", displayName: "anyone", mesh, hookToken: "t", pending: 0, epoch: "e", serverTime: Date.now(), reattached: false, limits }));
      },
    },
  });
}
