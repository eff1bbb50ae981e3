// The replay memory's crash window (docs/security.md limitation 9): a reader writes the pairs it
// read to its own replay file first, then adds them to the machine's memory
// (seen/<mesh>.machine.json), which seeds new sessions. A real CLI and a real MCP server are each
// killed between the two: strace's fault injection sends SIGKILL the moment the process opens the
// machine memory's lock (`-P <lock> -e inject=openat:signal=SIGKILL`), that is after its own file
// was written and before the machine's memory is; the server's strace is attached once it has
// started (its start may take the lock too). Nothing in claudemesh knows about it.
// A session started later, behind a broker that replays, must still drop replays of what the killed
// readers read, although a session that read and ended normally in between added its own pairs to
// the machine's memory (a share adds nothing of other readers'), a later `inbox` read the DM again,
// and the killed session, unused for 16 days, lost its key and replay file meanwhile (pruned at
// the next session's start: src/client/local/session-keys.ts). Before session 34 the replays
// were shown.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { cli, MAIN, ok, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected } from "../helpers/mcp.ts";
import { replayTeam } from "../helpers/replay-team.ts";
import { attachStrace } from "../helpers/strace.ts";
import { pidRunning } from "../../src/client/local/files.ts";

/** Longer than SESSION_KEEP_MS (15 days). */
const UNUSED_MS = 16 * 24 * 60 * 60_000;

/** strace's arguments to kill the process traced (SIGKILL) at its first openat() of `lock`. */
const killAt = (lock: string) => ["-P", lock, "-e", "trace=openat", "-e", "inject=openat:signal=SIGKILL"];

describe("the replay memory across a crash between a reader's file and the machine's", () => {
  test("a session and an inbox killed there: a session started later still drops replays of what they read", async () => {
    await using t = await replayTeam();
    const { bob, meshId, send } = t;
    const seenDir = join(bob, "seen");
    const lock = join(seenDir, `${meshId}.machine.lock`);
    const pairsOf = (name: string) => (JSON.parse(readFileSync(join(seenDir, name), "utf8")) as { seen: [string, string][] }).seen.map((p) => p.join("|"));
    const machine = () => pairsOf(`${meshId}.machine.json`);
    const sessionFile = () => readdirSync(seenDir).filter((f) => /^[^.]+\.[0-9a-f]{16}\.json$/.test(f));

    // The terminal has read something, so the machine's memory exists.
    await send("bob", "an earlier DM");
    ok(await cli(bob, ["inbox"]));

    // bob's terminal reads a DM and is killed on its way to the machine's memory; the next inbox
    // gets the DM again (it was not acked) and skips it as already read.
    const cliRead = await send("bob", "for the terminal");
    const killed = await cli(bob, ["inbox"], { command: ["strace", "-f", "-qq", "-o", "/dev/null", ...killAt(lock), process.execPath, "run", MAIN] });
    expect({ code: killed.code, shown: killed.stdout.includes("for the terminal") }).toEqual({ code: 137, shown: true });
    const cliPair = pairsOf(`${meshId}.json`).at(-1)!;
    ok(await cli(bob, ["inbox"]));
    expect(machine().includes(cliPair)).toBe(false);

    // Session A reads a broadcast (the terminal does not read it) and is killed the same way.
    const a = await startMcp(bob, "sess-crash-a");
    await waitConnected(a);
    await using _killer = await attachStrace(a.pid, [...killAt(lock)]);
    const aRead = await send("*", "for session a");
    let text = "";
    await until(async () => (text += (await a.call("mesh_inbox")).text).includes("for session a"), "session a to read its broadcast");
    await until(async () => !pidRunning(a.pid), "session a to be killed at the lock", 15_000);
    await a.close().catch(() => {});
    const [aFile] = sessionFile();
    const aPair = pairsOf(aFile!)[0]!;
    expect({ aFile: pairsOf(aFile!).length, inMachine: machine().includes(aPair) }).toEqual({ aFile: 1, inMachine: false });
    // A was last used 16 days ago: the next session's start deletes its key and replay file.
    const longAgo = new Date(Date.now() - UNUSED_MS);
    for (const f of [join(seenDir, aFile!), ...readdirSync(join(bob, "sessions", meshId)).map((k) => join(bob, "sessions", meshId, k))]) utimesSync(f, longAgo, longAgo);

    // Session C starts, reads and ends normally. Its shares add only what it read, so A's pair
    // reaches the machine's memory only if C's start adds it before pruning A's file.
    const c = await startMcp(bob, "sess-crash-c");
    await waitConnected(c);
    await send("*", "for session c");
    text = "";
    await until(async () => (text += (await c.call("mesh_inbox")).text).includes("for session c"), "session c to read its broadcast");
    expect((await runHook(bob, "session-end", hookInput("sess-crash-c", "SessionEnd"))).code).toBe(0);
    await c.close();
    expect(sessionFile().includes(aFile!)).toBe(false);

    // A new session; the broker pushes, before a new DM, what A and the terminal read, each under a
    // new messageId: replays the session can open.
    const fresh = await startMcp(bob, "sess-crash-new");
    await waitConnected(fresh);
    const { inbox, pushed } = await t.replayTo(fresh, [{ messageId: aRead, by: "session" }, { messageId: cliRead, by: "terminal" }]);
    await fresh.close();
    expect({ pushed, sessionA: inbox.includes("for session a"), terminal: inbox.includes("for the terminal"), failed: inbox.includes("failed verification") }).toEqual({ pushed: true, sessionA: false, terminal: false, failed: false });
    // Both pairs are in the machine's memory now, for every later session too, and the marks the
    // killed readers left on their files (src/client/local/unmerged-marks.ts) are gone.
    expect({ a: machine().includes(aPair), terminal: machine().includes(cliPair), marks: readdirSync(seenDir).filter((f) => f.endsWith(".unmerged")) }).toEqual({ a: true, terminal: true, marks: [] });
  }, 120_000);
});
