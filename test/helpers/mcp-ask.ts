// Two Claude Code sessions, alice and bob, for the mesh_ask tests: alice's server sees bob's, and
// alice's hooks are driven over her server's socket as `claudemesh hook` would (one request per
// connection: `wait` or `pending`, then `seen`).
import { expect } from "bun:test";
import { cliTeam } from "./cli.ts";
import { startMcp, waitPeer } from "./mcp.ts";
import { askIpc, socketPath, type IpcRequest } from "../../src/mcp/ipc.ts";

export const QUESTION = "What port does the API use?";
/** How often the answer's text ("port 8080") appears in `text`. */
export const times = (text: string, what = "port 8080") => text.split(what).length - 1;

/** What the server hands a `wait` hook: the framed text it prints and the ids it confirms. */
export type HookBatch = { text: string; ids: string[]; previewed: string[] };

export async function twoSessions(tag: string) {
  const team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const a = await startMcp(alice, `sess-alice-${tag}`);
  const bb = await startMcp(bob, `sess-bob-${tag}`);
  await bb.call("mesh_peers"); // in use, as a real session is from its SessionStart hook on
  await waitPeer(a, "bob/app");
  const ask = (cmid: string | null, timeout_seconds = 30, question = QUESTION) => a.call("mesh_ask", { to: "bob", question, ...(cmid ? { client_message_id: cmid } : {}), timeout_seconds });
  const hookSocket = socketPath(alice, `sess-alice-${tag}`);
  const hook = <T>(req: IpcRequest, timeoutMs = 8000) => askIpc<T>(hookSocket, req, timeoutMs);
  return {
    a,
    bb,
    ask,
    /** alice's config directory and Claude session id (to start her server again). */
    alice: alice!,
    aliceSession: `sess-alice-${tag}`,
    /** alice's wake hook (`claudemesh hook wait`) as the server sees it: one `wait`, then `seen`. */
    aliceHookSocket: hookSocket,
    /** The batch a wake hook of alice's is handed now (or once a message comes). */
    async hookWait(): Promise<HookBatch> {
      const batch = await hook<HookBatch>({ op: "wait", timeoutMs: 5000 });
      if (!batch?.text) throw new Error("the wake hook was handed nothing");
      return batch;
    },
    /** The hook says it printed `batch`. */
    hookSeen: (batch: HookBatch) => hook({ op: "seen", ids: batch.ids, previewed: batch.previewed }, 2000),
    /** bob reads the question `question` and answers it with `answer`. */
    async bobAnswers(question = QUESTION, answer = "port 8080") {
      const q = await bb.waitNotification((n) => n.content.includes(question));
      await bb.call("mesh_inbox");
      expect((await bb.call("mesh_reply", { message_id: q.meta.message_id, message: answer })).isError).toBe(false);
    },
    /** alice asked with `cmid` and stopped waiting (Esc); bob answered; the reply is pending. */
    async answeredWhileNotWaiting(cmid: string) {
      const ac = new AbortController();
      const first = a.client.callTool({ name: "mesh_ask", arguments: { to: "bob", question: QUESTION, client_message_id: cmid, timeout_seconds: 60 } }, undefined, { signal: ac.signal }).catch((e: Error) => e);
      await bb.waitNotification((n) => n.content.includes(QUESTION));
      ac.abort();
      expect(await first).toBeInstanceOf(Error);
      await this.bobAnswers();
      await a.waitNotification((n) => n.content.includes("port 8080"));
    },
    async [Symbol.asyncDispose]() {
      await a.close();
      await bb.close();
      await team[Symbol.asyncDispose]();
    },
  };
}

/** Whether `p` is still unsettled after `ms`. */
export const stillWaiting = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => false), Bun.sleep(ms).then(() => true)]);
