// The channel doorbell's "more messages are waiting" notice is sent once until the model reads
// messages; a reply mesh_ask returns is read too (src/mcp/meshes.ts remember, the one place every
// whole showing passes through). Before, only mesh_inbox and the hooks reset it: after a flood and
// an answered ask, a second flood rang no notice, so the model was not told that more waited.
import { describe, expect, test } from "bun:test";
import { DOORBELL_NOTICE, DOORBELL_NOTIFICATIONS_PER_MINUTE } from "../../src/mcp/doorbell.ts";
import { askIpc } from "../../src/mcp/ipc.ts";
import { until } from "../helpers/until.ts";
import { twoSessions } from "../helpers/mcp-ask.ts";

describe("mcp: the doorbell's notice", () => {
  test("is told again after mesh_ask returned a reply, as after mesh_inbox", async () => {
    await using s = await twoSessions("doorbell-ask");
    const unread = async () => (await askIpc<{ pending: number }>(s.aliceHookSocket, { op: "peers" }, 5000))?.pending ?? -1;
    const flood = async (tag: string, n: number) => {
      for (let i = 0; i < n; i++) expect((await s.bb.call("mesh_send", { to: "alice", message: `${tag} ${i}` })).isError).toBe(false);
    };
    const notices = () => s.a.notifications.filter((n) => n.content === DOORBELL_NOTICE).length;
    // More than a burst: the budget is spent and the notice says more wait.
    const first = DOORBELL_NOTIFICATIONS_PER_MINUTE + 2;
    await flood("first", first);
    await until(() => notices() === 1, "the first notice");

    const asking = s.ask(null, 30);
    await s.bobAnswers();
    const r = await asking;
    expect(r.text).toStartWith('Reply from "bob');

    // A second flood: a token refills every 6 s, so at most a few of these ring; the others are
    // not rung, and the model, who read since the first notice, is told again.
    await flood("second", 5);
    await until(async () => (await unread()) === first + 5, "the second flood at alice's server");
    // The notification may trail the count (another channel): awaited, then pinned.
    await until(() => notices() >= 2, "a second notice", 3000);
    expect(notices()).toBe(2);
  }, 60_000);
});
