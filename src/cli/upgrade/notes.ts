// What `claudemesh upgrade` tells after replacing the binary: which running processes still run
// the old one. Nothing is restarted here: a broker's restart drains its clients, and a Claude
// Code session's MCP server belongs to that session.
import { existsSync, readFileSync, realpathSync } from "node:fs";

/** Where install.sh --service writes the unit (its UNIT_PATH). */
export const UNIT_PATH = "/etc/systemd/system/claudemesh.service";

/** The note for a systemd unit at `unitPath` whose ExecStart= runs `binPath` (compared with
 *  links resolved), or null when there is no such unit. */
export function serviceNote(binPath: string, version: string, unitPath = UNIT_PATH): string | null {
  if (!existsSync(unitPath)) return null;
  let text: string;
  try {
    text = readFileSync(unitPath, "utf8");
  } catch {
    return null;
  }
  const exec = /^ExecStart=(?:"([^"]+)"|(\S+))/m.exec(text);
  const runs = exec?.[1] ?? exec?.[2];
  if (!runs || !sameFile(runs, binPath)) return null;
  return `claudemesh.service still runs the old binary until it is restarted (a restart drains: clients reconnect, nothing acknowledged is lost): sudo systemctl restart claudemesh, then journalctl -u claudemesh shows ${version} serving`;
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/** Always said: a running process keeps the inode it started from. */
export const runningNote = (version: string) =>
  `claudemesh processes already running (Claude Code sessions' MCP servers, a broker started by hand) keep the old version until they are restarted; restart Claude Code sessions to pick up ${version}`;
