// The event pushes a real broker writes to some of its connections, read at the broker's side of
// the socket: for clients whose frames a test cannot read itself (the CLI and the MCP server run
// as processes; the client library keeps what it does not hand on).
import type { Conn } from "../../src/broker/conn.ts";
import type { TestBroker } from "./broker.ts";

/** From now on, the name of each `event` frame the broker sends to a connection `which` picks
 *  among those connected now, in order. */
export function tapEvents(b: TestBroker, which: (c: Conn) => boolean): string[] {
  const seen: string[] = [];
  for (const c of b.ctx.hub.allConns()) {
    if (!which(c)) continue;
    const send = c.transport.send.bind(c.transport);
    c.transport.send = (text) => {
      if (text.startsWith('{"type":"event"')) seen.push(JSON.parse(text).event);
      return send(text);
    };
  }
  return seen;
}

/** The connections of a client process, by the sessionId its hello gave (`cli-<pid>` for the CLI,
 *  the Claude Code session id for the MCP server). */
export const bySessionId = (sessionId: string) => (c: Conn) => c.where?.sessionId === sessionId;
