// claudemesh group join|leave|list. Groups are routing labels (`@name`) that a member puts itself
// in (docs/protocol.md §4.3.16): nothing to create, no state beyond who is in them. `list` is
// derived from list_peers, whose peers carry their member's groups.
import type { PeerInfo } from "../../protocol/results.ts";
import { command, type CommonArgs } from "../context.ts";
import { meshOption } from "../mesh-named.ts";
import { checkText, FIELDS } from "../input-checks.ts";

export type GroupMember = { memberId: string; displayName: string; pubkey: string; online: boolean };
export type GroupInfo = { name: string; members: GroupMember[]; joined: boolean };

/** The group name without a leading `@`. Throws UsageError (exit 2) for anything the protocol's
 *  GroupName refuses, before any connection is made. */
export const groupName = (input: string): string => checkText(input.replace(/^@/, ""), "The group name", FIELDS.group);

/** Every group some member is in, sorted by name, members sorted by display name. A member counts
 *  as online when it or any of its sessions is; `joined` says whether `myMemberPubkey` is in it. */
export function groupsFromPeers(peers: readonly PeerInfo[], myMemberPubkey: string): GroupInfo[] {
  const members = new Map<string, GroupMember & { groups: string[] }>();
  for (const p of peers) {
    const m = members.get(p.memberId);
    // Sessions carry their member's groups; the member entry (always listed) gives the name.
    if (!m) members.set(p.memberId, { memberId: p.memberId, displayName: p.displayName, pubkey: p.memberPubkey, online: p.online, groups: p.groups });
    else {
      m.online ||= p.online;
      if (p.kind === "member") m.displayName = p.displayName;
    }
  }
  const groups = new Map<string, GroupMember[]>();
  for (const { groups: names, ...m } of members.values()) for (const g of names) groups.set(g, [...(groups.get(g) ?? []), m]);
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ms]) => ({ name, members: ms.sort((a, b) => a.displayName.localeCompare(b.displayName)), joined: ms.some((m) => m.pubkey === myMemberPubkey) }));
}

export async function join(args: CommonArgs & { name: string }): Promise<void> {
  await command(args, async (ctx) => {
    const group = groupName(args.name);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const r = await client.request("group_join", { group });
    ctx.out.result(r, () => `You are in @${r.group}: messages sent to @${r.group} reach you. Leave with: claudemesh group leave ${r.group}${meshOption(ctx.config(), mesh)}`);
  });
}

export async function leave(args: CommonArgs & { name: string }): Promise<void> {
  await command(args, async (ctx) => {
    const group = groupName(args.name);
    const client = await ctx.connect(ctx.mesh());
    const r = await client.request("group_leave", { group });
    ctx.out.result(r, () => `You are not in @${r.group}: messages sent to @${r.group} no longer reach you.`);
  });
}

export async function list(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const { peers } = await client.request("list_peers", {});
    const groups = groupsFromPeers(peers, mesh.publicKey);
    ctx.out.result({ groups }, () =>
      groups.map((g) => `@${g.name.padEnd(20)} ${(g.joined ? "joined" : "—").padEnd(6)}  ${g.members.map((m) => (m.online ? m.displayName : `${m.displayName} (offline)`)).join(", ")}`).join("\n") ||
      "No groups. Join one with: claudemesh group join NAME",
    );
  });
}
