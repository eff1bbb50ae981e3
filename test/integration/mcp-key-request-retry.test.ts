// The owner's MCP server and a key request it could not answer (src/mcp/incoming.ts, KeyAnswers in
// src/client/key-request.ts). It used to acknowledge the request anyway, so the member waited for
// keys until it asked again, 10 minutes later at the earliest and only at its next post or inbox.
// Now the request stays unread and is answered at the server's next push, mesh_inbox or reconnect,
// as the CLI owner's next `inbox` answers it; and once only, also when the first answer was stored
// but its confirmation was lost. Real broker on port 0, the real MCP server over stdio, the real CLI.
import { describe, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { cli, ok, until, useBroker } from "../helpers/cli.ts";
import { lateJoiner } from "../helpers/late-joiner.ts";
import { startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

type Walk = Awaited<ReturnType<typeof lateJoiner>>;

/** What makes the owner's server try again: a message pushed to it, a read of its inbox, or its
 *  connection dropped and made again (the proxy in front of the broker cuts it). */
const TRIGGERS: [string, (t: Walk, a: McpSession, cut: () => void) => Promise<unknown>][] = [
  ["the next push", (t) => cli(t.bob, ["send", "alice", "ping"]).then(ok)],
  ["the next mesh_inbox", (_t, a) => a.call("mesh_inbox")],
  ["a reconnect", async (_t, _a, cut) => cut()],
];

describe("a key request the owner's MCP server could not answer", () => {
  for (const [trigger, retry] of TRIGGERS) {
    test(`stays unread and is answered at ${trigger}, once`, async () => {
      await using t = await lateJoiner();
      using proxy = linkProxy(Number(new URL(t.b.url).port));
      useBroker(t.alice, proxy.url);
      // The server traces the request's sender (member_lookup), then looks the requester up again
      // to vouch for it: that second answer fails while `failing`.
      const real = HANDLERS.member_lookup;
      let failing = true;
      let calls = 0;
      HANDLERS.member_lookup = async (...a) => {
        if (failing && ++calls > 1) throw new MeshError("unavailable", "The database is locked by another process.");
        return real(...a);
      };
      try {
        await using a = await startMcp(t.alice, "sess-alice-retry", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
        await waitConnected(a);
        await until(() => a.stderr().includes("key request not answered"), "alice's server to fail answering dave's request");
        failing = false;
        expect(t.answers()).toBe(0);
        await retry(t, a, proxy.cut);
        // Before: the request was acked unanswered, and nothing answered it (answers stayed 0).
        await until(() => t.answers() === 1, `alice's server to answer at ${trigger}`, 10_000);
        // Not again: the other ways to try it, and a restarted server (the broker's redelivery).
        ok(await cli(t.bob, ["send", "alice", "pong"]));
        await until(async () => (await a.call("mesh_inbox")).text.includes("pong"), "bob's pong in alice's inbox");
        proxy.cut();
        await waitConnected(a);
        await a.close();
        await using again = await startMcp(t.alice, "sess-alice-retry");
        await waitConnected(again);
        ok(await cli(t.bob, ["send", "alice", "last"]));
        await until(async () => (await again.call("mesh_inbox")).text.includes("last"), "bob's last message in alice's restarted server");
        expect(t.answers()).toBe(1);
      } finally {
        HANDLERS.member_lookup = real;
      }
      ok(await cli(t.dave, ["inbox"]));
      expect({ epochs: t.epochs(), requests: t.requests(), answers: t.answers() }).toEqual({ epochs: [0, 1], requests: 1, answers: 1 });
    }, 60_000);
  }

  test("whose answer was stored but not confirmed is not answered twice", async () => {
    await using t = await lateJoiner();
    // The broker stores the answer, then fails the send (`internal`): it may have been stored, so
    // the server tries again, and must do so with the same client message id, which the broker
    // answers as a duplicate rather than store a second `keys` message.
    const writes = t.b.ctx.writes;
    const send = writes.send.bind(writes);
    let lost = 0;
    writes.send = (...args: Parameters<typeof send>) => send(...args).then((r) => (lost++ === 0 ? Promise.reject(new Error("the answer was lost")) : r));
    await using a = await startMcp(t.alice, "sess-alice-lost", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
    await waitConnected(a);
    await until(() => a.stderr().includes("key request not answered"), "alice's server to lose its answer's confirmation");
    writes.send = send;
    ok(await cli(t.bob, ["send", "alice", "ping"]));
    await until(async () => (await a.call("mesh_inbox")).text.includes("ping"), "bob's ping in alice's inbox");
    await until(() => a.stderr().includes("key request answered"), "alice's server to try the answer again");
    expect(t.answers()).toBe(1);
    ok(await cli(t.dave, ["inbox"]));
    expect(t.epochs()).toEqual([0, 1]);
  }, 60_000);
});
