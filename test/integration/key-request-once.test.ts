// A member who joins with an invite made before a key rotation asks the owner for the keys
// (docs/protocol.md §11.5, "Catching up"): one request, answered once (src/client/key-request.ts).
// Seen in every run of session 36: the join asked, the refused post asked again, and the owner's
// `inbox` sent the keys once for each. And a request that is lost is still made again: one the
// owner read but could not answer stays for its next `inbox`; one gone from the broker is made
// again by the member's `inbox` once the interval has passed. Real broker on port 0, the real CLI.
import { describe, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { KEYS_ASK_INTERVAL_MS } from "../../src/client/key-request.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { sweepRound } from "../../src/broker/timers.ts";
import { brokerClock } from "../helpers/broker.ts";
import { cli, ok, until } from "../helpers/cli.ts";
import { ageKeysAsked, lateJoiner } from "../helpers/late-joiner.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

describe("a late joiner's key request", () => {
  test("is made once (join), not again by the refused post or the inbox, and answered once", async () => {
    await using t = await lateJoiner();
    expect(t.joined.stdout).toContain("the current keys were requested from the owner and arrive with `claudemesh inbox`.");
    const post = await cli(t.dave, ["send", "*", "hello"]);
    expect({ code: post.code, stderr: post.stderr }).toEqual({ code: 3, stderr: expect.stringContaining("The mesh key was rotated to epoch 1 and this member has epoch 0") });
    const early = ok(await cli(t.dave, ["inbox"]));
    const owner = ok(await cli(t.alice, ["inbox"]));
    // Before: 2 requests (the join's and the post's, "The owner was also asked for it again"), and
    // the owner's inbox sent the keys twice.
    expect({ requests: t.requests(), askedByPost: post.stderr.includes("The owner was also asked"), daveInbox: early.stderr, answers: t.answers(), notes: owner.stderr.match(/Sent the mesh keys/g)?.length }).toEqual({ requests: 1, askedByPost: false, daveInbox: "", answers: 1, notes: 1 });
    expect(ok(await cli(t.dave, ["inbox"])).stderr).toBe("Received mesh keys (epoch 1).\n");
    ok(await cli(t.dave, ["send", "*", "hello"]));
    expect({ epochs: t.epochs(), requests: t.requests(), answers: t.answers() }).toEqual({ epochs: [0, 1], requests: 1, answers: 1 });
  }, 60_000);

  test("repeated while the owner is away (the interval passed), the requests read together are answered once", async () => {
    await using t = await lateJoiner();
    ageKeysAsked(t.dave, KEYS_ASK_INTERVAL_MS);
    const again = ok(await cli(t.dave, ["inbox"]));
    expect({ requests: t.requests(), stderr: again.stderr }).toEqual({ requests: 2, stderr: "Asked the mesh owner for the mesh keys; they arrive with a later `claudemesh inbox`.\n" });
    // A third within the interval of the second: not made.
    ok(await cli(t.dave, ["send", "*", "hello"]).then((r) => ({ ...r, code: r.code === 3 ? 0 : r.code })));
    expect(t.requests()).toBe(2);
    const owner = ok(await cli(t.alice, ["inbox"]));
    expect({ answers: t.answers(), notes: owner.stderr.match(/Sent the mesh keys/g)?.length }).toEqual({ answers: 1, notes: 1 });
    // Both were read (acked): the owner's next inbox has nothing to answer.
    ok(await cli(t.alice, ["inbox"]));
    expect(t.answers()).toBe(1);
    ok(await cli(t.dave, ["inbox"]));
    expect(t.epochs()).toEqual([0, 1]);
  }, 60_000);

  test("the owner's MCP server, started after two requests waited, answers them once", async () => {
    await using t = await lateJoiner();
    ageKeysAsked(t.dave, KEYS_ASK_INTERVAL_MS);
    expect((await cli(t.dave, ["send", "*", "hello"])).stderr).toContain("The owner was also asked for it again");
    expect(t.requests()).toBe(2);
    await using a = await startMcp(t.alice, "sess-alice-keys", undefined, undefined, { CLAUDEMESH_DEBUG: "1" }); // its info lines
    await waitConnected(a);
    // Both are pushed at once; the second is taken once the first is answered.
    await until(() => a.stderr().includes("key request already answered"), "alice's server to take the second request");
    expect(t.answers()).toBe(1);
    ok(await cli(t.dave, ["inbox"]));
    expect(t.epochs()).toEqual([0, 1]);
    await a.close();
  }, 60_000);

  test("one the owner read but could not answer stays for its next inbox", async () => {
    await using t = await lateJoiner();
    // The owner's inbox traces the request's sender (member_lookup), then looks the requester up
    // again to vouch for it: that second answer does not come.
    const real = HANDLERS.member_lookup;
    let calls = 0;
    HANDLERS.member_lookup = async (...a) => {
      if (++calls > 1) throw new MeshError("unavailable", "The database is locked by another process.");
      return real(...a);
    };
    let failed;
    try {
      failed = ok(await cli(t.alice, ["inbox"]));
    } finally {
      HANDLERS.member_lookup = real;
    }
    const answersThen = t.answers();
    const owner = ok(await cli(t.alice, ["inbox"]));
    // Before: the request was acked unanswered without a word, and the next inbox had nothing.
    expect({ answersThen, stderr: failed.stderr, answers: t.answers(), sent: owner.stderr.includes('Sent the mesh keys to "dave"') }).toEqual({
      answersThen: 0,
      stderr: expect.stringMatching(/^claudemesh: warning: the key request of "dave" \([0-9a-f]{12}\) was not answered: The database is locked by another process\. It stays unread for the next `claudemesh inbox`, which answers it\.\n$/),
      answers: 1,
      sent: true,
    });
    ok(await cli(t.dave, ["inbox"]));
    expect({ epochs: t.epochs(), requests: t.requests() }).toEqual({ epochs: [0, 1], requests: 1 });
  }, 60_000);

  test("one gone from the broker (expired unread) is made again by the member's inbox once the interval passed, not before", async () => {
    await using t = await lateJoiner();
    // The owner away for longer than the broker keeps a message (messageTtl, 7 days): by the
    // broker's clock moved past it, the request expires unread (dave is told, §5.8).
    brokerClock(t.b, 7 * 24 * 3_600_000 + 1_000);
    await sweepRound(t.b.ctx);
    brokerClock(t.b, 0);
    expect(ok(await cli(t.dave, ["inbox", "--json"])).json().messages).toEqual([expect.objectContaining({ kind: "system", body: expect.stringContaining("message_expired") })]);
    ok(await cli(t.alice, ["inbox"]));
    expect({ answers: t.answers(), epochs: t.epochs() }).toEqual({ answers: 0, epochs: [0] });
    // Within the interval the member's inbox does not ask (the request might still wait)...
    expect(ok(await cli(t.dave, ["inbox"])).stderr).toBe("");
    // ...and after it, it does.
    ageKeysAsked(t.dave, KEYS_ASK_INTERVAL_MS);
    expect(ok(await cli(t.dave, ["inbox"])).stderr).toContain("Asked the mesh owner for the mesh keys");
    expect(ok(await cli(t.alice, ["inbox"])).stderr).toContain('Sent the mesh keys to "dave"');
    ok(await cli(t.dave, ["inbox"]));
    expect(t.epochs()).toEqual([0, 1]);
  }, 60_000);
});
