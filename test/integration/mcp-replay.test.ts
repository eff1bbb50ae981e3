// The MCP server's replay memory (seen/<mesh>.<session scope>.json) under a burst: reading many
// messages one by one writes the file a few times, not once per message, and a clean exit still
// leaves every seen message in it (src/mcp/seen-writer.ts, REPLAY_FLUSH_MS, says what a crash can
// lose and why that is safe). Writes are counted from the file system (each is a temp file renamed
// into place), not from the code under test.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, watch } from "node:fs";
import { join } from "node:path";
import { cliTeam, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";

const N = 40;

describe("mcp replay memory", () => {
  test(`a burst of ${N} messages read one at a time is saved in a few writes, and completely at exit`, async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [alice, bob] } = team;
    const { meshId } = team.mesh;
    await using a = await startMcp(alice, "sess-alice-burst");
    let bb = await startMcp(bob, "sess-bob-burst");
    await waitPeer(a, "bob/app");
    for (let i = 0; i < N; i++) expect((await a.call("mesh_send", { to: "bob/app", message: `burst ${i}` })).isError).toBe(false);
    // All arrived (SessionStart counts the unread, marking nothing read; the doorbell rings only
    // for the first few of a burst).
    const unread = async () => (await runHook(bob, "session-start", hookInput("sess-bob-burst", "SessionStart"))).out?.hookSpecificOutput?.additionalContext ?? "";
    await until(async () => (await unread()).includes(`${N} unread message(s)`), `${N} messages at bob's server`);

    const seenDir = join(bob, "seen");
    mkdirSync(seenDir, { recursive: true, mode: 0o700 });
    const writes = new Set<string>();
    const watcher = watch(seenDir, (_event, name) => name?.endsWith(".tmp") && writes.add(name));
    // Claude reading its messages one by one, as fast as it can.
    const reads = await Promise.all(Array.from({ length: N }, () => bb.call("mesh_inbox", { limit: 1 })));
    expect(reads.filter((r) => /burst \d+/.test(r.text)).length).toBe(N);
    await bb.close();
    // The exit's write may be the only one (all reads inside one 250 ms window); its watch event can
    // arrive after the process is gone.
    await until(() => writes.size > 0, "a write of the replay file");
    watcher.close();
    expect(writes.size).toBeLessThanOrEqual(N / 8);

    const file = readdirSync(seenDir).find((f) => f.startsWith(`${meshId}.`) && f !== `${meshId}.json`)!;
    const saved = JSON.parse(readFileSync(join(seenDir, file), "utf8")) as { seen: [string, string][] };
    expect(saved.seen.length).toBe(N);
    // The same session again: nothing comes back (acked at exit, and remembered if redelivered).
    bb = await startMcp(bob, "sess-bob-burst");
    await waitConnected(bb);
    // A message sent now arrives after anything redelivered at the connect (a sender's messages,
    // and a mailbox's, come in order): once it is here, nothing else is on its way.
    expect((await a.call("mesh_send", { to: "bob/app", message: "after the restart" })).isError).toBe(false);
    await bb.waitNotification((n) => n.content.includes("after the restart"));
    const inbox = (await bb.call("mesh_inbox")).text;
    expect({ after: inbox.includes("after the restart"), burst: /burst \d+/.test(inbox) }).toEqual({ after: true, burst: false });
    await a.close();
    await bb.close();
  }, 60_000);
});
