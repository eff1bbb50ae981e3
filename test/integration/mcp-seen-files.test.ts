// The replay memory's files through the real CLI and real `claudemesh mcp` servers (over stdio, with
// the SessionEnd hook, as Claude Code runs them), behind a broker that replays (evil-broker.ts):
// sessions started and ended one after another leave one small file each (their own pairs: the
// rest is in the machine's memory, seen/<mesh>.machine.json); a new session still drops a replay of
// what the CLI and an earlier, ended session read (session 31), reading only the machine's file and
// its own at its start; and a session unused for SESSION_KEEP_MS loses its key and replay file at
// the next session's start (src/client/local/session-keys.ts).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { cli, MAIN, ok, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected } from "../helpers/mcp.ts";
import { replayTeam } from "../helpers/replay-team.ts";

const SESSIONS = 3;
/** Longer than SESSION_KEEP_MS (15 days; a literal, so that this file runs against the code
 *  before it too). */
const UNUSED_MS = 16 * 24 * 60 * 60_000;

describe("the replay memory's files", () => {
  test(`${SESSIONS} sessions started and ended leave a small file each; a new one drops replays of what they and the CLI read, and reads two files at its start`, async () => {
    await using t = await replayTeam();
    const { team, bob, meshId, send } = t;

    // bob's terminal reads five DMs.
    const cliRead: string[] = [];
    for (let i = 0; i < 5; i++) cliRead.push(await send("bob", `for the terminal ${i}`));
    expect(ok(await cli(bob, ["inbox"])).stdout).toContain("for the terminal 4");

    // Then Claude Code sessions of bob's, one after another: each reads a broadcast and ends.
    const sessionRead: string[] = [];
    for (let s = 1; s <= SESSIONS; s++) {
      const id = `sess-seen-${s}`;
      const m = await startMcp(bob, id);
      await waitConnected(m);
      sessionRead.push(await send("*", `for session ${s}`));
      let text = "";
      await until(async () => (text += (await m.call("mesh_inbox")).text).includes(`for session ${s}`), `session ${s} to read its broadcast`);
      expect((await runHook(bob, "session-end", hookInput(id, "SessionEnd"))).code).toBe(0);
      await m.close();
    }

    const seenDir = join(bob, "seen");
    const pairs = (name: string) => (JSON.parse(readFileSync(join(seenDir, name), "utf8")) as { seen: unknown[] }).seen.length;
    const sessionFiles = () => readdirSync(seenDir).filter((f) => /^[^.]+\.[0-9a-f]{16}\.json$/.test(f) && f.startsWith(`${meshId}.`));
    // Each session's file holds what it read itself, not the CLI's and every earlier session's.
    expect(sessionFiles().map(pairs)).toEqual(Array(SESSIONS).fill(1));
    expect({ cli: pairs(`${meshId}.json`), machine: pairs(`${meshId}.machine.json`) }).toEqual({ cli: 5, machine: 5 + SESSIONS });
    // Keys are kept for `claude --resume`.
    expect(readdirSync(join(bob, "sessions", meshId)).length).toBe(SESSIONS);

    // Session 1 was last used 16 days ago.
    const keyFile = join(bob, "sessions", meshId, `${createHash("sha256").update("sess-seen-1").digest("hex").slice(0, 32)}.json`);
    const scope1 = (JSON.parse(readFileSync(keyFile, "utf8")) as { publicKey: string }).publicKey.slice(0, 16);
    const longAgo = new Date(Date.now() - UNUSED_MS);
    for (const f of [keyFile, join(seenDir, `${meshId}.${scope1}.json`)]) utimesSync(f, longAgo, longAgo);

    // A new session, whose opening of files is traced from its start.
    const trace = join(team.root, "openat.txt");
    const strace = ["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace, process.execPath, "run", MAIN];
    const fresh = await startMcp(bob, "sess-seen-new", undefined, strace);
    await waitConnected(fresh);
    // The broker pushes, before a new DM, what session 1 read and one the terminal read, each under
    // a new messageId: replays the session can open (the mesh key; bob's member key).
    const { inbox, pushed } = await t.replayTo(fresh, [{ messageId: sessionRead[0]!, by: "session" }, { messageId: cliRead[0]!, by: "terminal" }]);
    // Pushed (the rewrite ran), opened (no failed verification) and dropped as already read.
    expect({ pushed, session1: inbox.includes("for session 1"), terminal: inbox.includes("for the terminal 0"), failed: inbox.includes("failed verification") }).toEqual({ pushed: true, session1: false, terminal: false, failed: false });
    await fresh.close();

    // Session 1's key and file were pruned at the new session's start; sessions 2 and 3 keep theirs.
    expect(readdirSync(join(bob, "sessions", meshId)).length).toBe(SESSIONS); // 2, 3 and the new one
    expect(sessionFiles().some((f) => f.includes(scope1))).toBe(false);
    expect(sessionFiles().length).toBe(SESSIONS);
    // Of seen/, the new server opened only the machine's memory and its own file (and their lock
    // and temp files): never the CLI's or another session's, however many there are.
    const opened = new Set([...readFileSync(trace, "utf8").matchAll(/openat\([^"]*"([^"]*\/seen\/[^"]+)"/g)].map((m) => m[1]!.slice(m[1]!.lastIndexOf("/") + 1)));
    const others = [...opened].filter((f) => !f.startsWith(`${meshId}.machine.`) && !f.startsWith(`.${meshId}.machine.`) && !/^\.?[^.]+\.[0-9a-f]{16}\.json/.test(f));
    const sessionsOpened = new Set([...opened].flatMap((f) => /\.([0-9a-f]{16})\.json/.exec(f)?.[1] ?? []));
    expect({ others, sessionsOpened: sessionsOpened.size, machine: opened.has(`${meshId}.machine.json`) }).toEqual({ others: [], sessionsOpened: 1, machine: true });
  }, 90_000);
});
