// claudemesh peers: who is in the mesh, their status and summary, groups, where they run, when
// last seen.
import { oneLine, quoted } from "../../client/untrusted-text.ts";
import type { PeerInfo } from "../../protocol/results.ts";
import { command, type CommonArgs } from "../context.ts";
import { nameCell, pad, widthOf } from "../table.ts";

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

const STATE_WIDTH = "offline, seen 365d ago".length;

const MARK = " (you)";

/** The name column's width for `peers`: its widest name, at least 24 columns. */
export const nameColumn = (peers: readonly PeerInfo[], me?: string): number =>
  Math.max(24, ...peers.map((p) => widthOf(nameCell(p.displayName)) + (p.pubkey === me ? MARK.length : 0)));

/** One line per peer, whatever its name, summary, host or directory hold (they are the peer's
 *  own words: a newline in one must not make a line that looks like another peer's). The name is
 *  quoted (nameCell), so `me` (your member key) is marked "(you)" after the quotes, where no name
 *  can put the same words; the name column is `nameWidth` terminal columns wide. */
export function peerLine(p: PeerInfo, me?: string, nameWidth = 24): string {
  const where = oneLine([p.hostname, p.cwd].filter(Boolean).join(":"), 1300);
  const state = p.online ? p.status : `offline, seen ${ago(p.lastSeenAt)}`;
  const groups = p.groups.map((g) => `@${g}`).join(" ");
  const name = nameCell(p.displayName) + (p.pubkey === me ? MARK : "");
  // The state column is as wide as "offline, seen 59m ago" (up to "365d ago"), so what follows
  // lines up for online and offline peers alike.
  return `${pad(name, nameWidth)} ${state.padEnd(STATE_WIDTH)} ${p.summary ? `${quoted(p.summary, 512)} ` : ""}${groups ? `${groups} ` : ""}${where ? `(${where}) ` : ""}${p.pubkey.slice(0, 12)}`;
}

export async function run(args: CommonArgs & { all?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const { peers } = await client.request("list_peers", {});
    // Offline sessions are hidden unless --all: members are always listed.
    const shown = peers.filter((p) => args.all || p.online || p.kind === "member");
    ctx.out.result({ peers: shown }, () => (shown.length === 0 ? "Nobody here yet." : shown.map((p) => peerLine(p, mesh.publicKey, nameColumn(shown, mesh.publicKey))).join("\n")));
  });
}
