// Two CLI members, alice and bob, in a mesh behind a broker that replays (evil-broker.ts): for the
// tests of bob's replay memory on disk (mcp-seen-files.test.ts, replay-crash-window.test.ts).
// alice sends with the real CLI; the broker pushes a new session of bob's copies of messages
// already read, under new messageIds: replays the session can open and must drop.
import { randomId } from "../../src/crypto/hash.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { cli, cliTeam, ok, until } from "./cli.ts";
import { evilBroker } from "./evil-broker.ts";
import type { McpSession } from "./mcp.ts";

/** A message read before: its id, and whose copy is replayed (a session's: the mesh key, a
 *  broadcast; the terminal's: bob's member key). */
export type ReadBefore = { messageId: string; by: "session" | "terminal" };

export async function replayTeam() {
  const team = await cliTeam(["alice", "bob"]);
  const evil = evilBroker();
  const { dirs: [alice, bob], mesh } = team;
  const memberKeys = new Set([mesh.members.alice!.pubkey, mesh.members.bob!.pubkey]);
  /** alice's `send`; resolves with the message's id. */
  const send = async (to: string, body: string): Promise<string> => ok(await cli(alice, ["send", to, body, "--json"]), `send ${body}`).json().messageId;
  return {
    team,
    bob,
    meshId: mesh.meshId,
    send,
    /** Has the broker push `session` the copies of `read` under new messageIds just before a new
     *  DM to bob; resolves with what mesh_inbox showed up to that DM, and whether the replays
     *  were pushed. */
    async replayTo(session: McpSession, read: readonly ReadBefore[]): Promise<{ inbox: string; pushed: boolean }> {
      const copyOf = ({ messageId, by }: ReadBefore) => evil.handed.find((h) => h.m.messageId === messageId && memberKeys.has(h.to.pubkey) === (by === "terminal"))!.m;
      const replays: MessagePushFrame[] = read.map((r) => ({ ...copyOf(r), messageId: randomId() }));
      evil.rewrite = (m, to) => (memberKeys.has(to.pubkey) ? [m] : ((evil.rewrite = null), [...replays, m]));
      await send("bob", "after the replays");
      let inbox = "";
      await until(async () => (inbox += (await session.call("mesh_inbox")).text).includes("after the replays"), "the session to read the new DM");
      return { inbox, pushed: evil.rewrite === null };
    },
    async [Symbol.asyncDispose]() {
      evil[Symbol.dispose]();
      await team[Symbol.asyncDispose]();
    },
  };
}
