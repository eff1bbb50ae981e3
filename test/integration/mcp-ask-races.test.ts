// mesh_ask and a message going to one place when something else reaches for it at the same time:
// a reply a wake hook is printing right now is not also returned by an ask (it was: the model saw
// it twice), and two asks of the same question (the same client_message_id) do not share one
// waiter (one of them waited out its timeout and said "No reply"). Both failed before their fix
// (src/mcp/reply-waiters.ts takeAnswer and claim, src/mcp/meshes.ts heldByHook).
import { describe, expect, test } from "bun:test";
import { askIpc } from "../../src/mcp/ipc.ts";
import { HANDOUT_MS } from "../../src/mcp/server.ts";
import { stillWaiting, times, twoSessions } from "../helpers/mcp-ask.ts";

describe("mcp: mesh_ask races", () => {
  test("a reply the wake hook is printing is not returned by an ask too: the ask waits for the hook, then says it was shown", async () => {
    await using s = await twoSessions("handout");
    await s.answeredWhileNotWaiting("raceAsk-handout-0001");
    const hook = await askIpc<{ text: string; ids: string[]; previewed: string[] }>(s.aliceHookSocket, { op: "wait", timeoutMs: 5000 }, 8000);
    expect(hook?.text).toContain("port 8080"); // handed to the hook, which prints it now
    const asking = s.ask("raceAsk-handout-0001");
    // Before the fix the retried ask took the reply from under the hook at once.
    expect(await stillWaiting(asking, 1500)).toBe(true);
    await askIpc(s.aliceHookSocket, { op: "seen", ids: hook!.ids, previewed: hook!.previewed }, 2000);
    const r = await asking;
    expect(r.isError).toBe(false);
    expect(times(hook!.text) + times(r.text)).toBe(1);
    expect(r.text).toContain(`message id ${hook!.ids[0]}`);
    expect((await s.a.call("mesh_inbox")).text).toBe("No new messages.");
  }, 60_000);

  test("a reply handed to a wake hook that dies before printing it is the ask's once the hand-out lapses", async () => {
    await using s = await twoSessions("lapse");
    await s.answeredWhileNotWaiting("raceAsk-lapsed-00001");
    const hook = await askIpc<{ text: string }>(s.aliceHookSocket, { op: "wait", timeoutMs: 5000 }, 8000);
    expect(hook?.text).toContain("port 8080"); // and the hook is killed before it prints
    const started = performance.now();
    const r = await s.ask("raceAsk-lapsed-00001");
    expect(r.text).toStartWith('Reply from "bob');
    expect(times(r.text)).toBe(1);
    expect(performance.now() - started).toBeLessThan(HANDOUT_MS + 3000); // not its 30 s timeout
    expect((await s.a.call("mesh_inbox")).text).toBe("No new messages.");
  }, 60_000);

  test("a second mesh_ask of the same question while the first waits is refused, naming the question; the first gets the reply", async () => {
    await using s = await twoSessions("twice");
    const first = s.ask("raceAsk-twice-000001", 15);
    const second = s.ask("raceAsk-twice-000001", 15);
    const started = performance.now();
    await s.bobAnswers();
    const [r1, r2] = await Promise.all([first, second]);
    const refused = [r1, r2].filter((r) => r.isError);
    const answered = [r1, r2].filter((r) => !r.isError);
    expect(refused.length).toBe(1);
    expect(refused[0]!.text).toMatch(/^conflict: Another mesh_ask call is already waiting for the reply to question [A-Za-z0-9_-]+ \(client_message_id "raceAsk-twice-000001"\)/);
    expect(answered.length).toBe(1);
    expect(answered[0]!.text).toStartWith('Reply from "bob');
    expect(times(answered[0]!.text)).toBe(1);
    expect(performance.now() - started).toBeLessThan(10_000); // neither waited out its timeout
  }, 60_000);
});
