// The broker's refusals of a #topic or an @group, said in the CLI's terms: the mesh searched (when
// the user is in several), the other meshes of theirs that have it, and every suggested command
// with the --mesh that acts on the mesh searched, since a shell's CLAUDEMESH_MESH may name another
// (`claudemesh topic create deploys --mesh shop`, not one that would run in lab).
import type { BrokerClient } from "../client/client.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { elsewhereText, groupHint, refusesTopic, topicHint, type PeerWhere } from "../client/name-hints.ts";
import { MeshError } from "../protocol/errors.ts";
import type { Ctx } from "./context.ts";
import { meshLabel, meshOption } from "./mesh-named.ts";
import { elsewhere } from "./peer-elsewhere.ts";
import { topicJoinHint } from "./topic-join-hint.ts";

/** How the hints name `mesh`: its label when the user is in several (else "this mesh"), and the
 *  option a command needs to act on it. */
function naming(ctx: Ctx, mesh: MeshEntry): { where?: string; option: string } {
  const cfg = ctx.config();
  return { ...(cfg.meshes.length > 1 ? { where: meshLabel(cfg, mesh) } : {}), option: meshOption(cfg, mesh) };
}

/** `err` from a request about `topic` in `mesh`, said again: a topic that does not exist with the
 *  nearest one or the command that creates it (topicHint), and the user's other meshes that have
 *  it, reached as `reach` says (send's "mesh:#topic", else --mesh); one not joined with the command
 *  that joins it, then `again` (topicJoinHint). `err` itself otherwise; never throws. */
export async function topicRefusal(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, err: unknown, topic: string, reach: PeerWhere["naming"], again: string): Promise<unknown> {
  const { where, option } = naming(ctx, mesh);
  const there = refusesTopic(err, topic) ? await elsewhere(ctx, mesh, async (c) => (await c.request("topic_list", {})).topics.some((t) => t.name === topic), reach) : { meshes: [], naming: reach };
  const also = there.meshes.length ? elsewhereText(`#${topic}`, `topic #${topic}`, there.meshes, there.naming) : "";
  const hinted = await topicHint(client, err, topic, { lister: `claudemesh topic list${option}`, option, also, ...(where ? { where } : {}) });
  return topicJoinHint(hinted, topic, again, option);
}

/** The broker's refusal of a send to an empty @`group` in `mesh` (unknown_recipient), said again
 *  with the nearest group some member is in (groupHint), else with the user's other meshes where
 *  members are in it and how a member gets in it here. `err` itself otherwise; never throws. */
export async function groupRefusal(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, err: unknown, group: string): Promise<unknown> {
  if (!(err instanceof MeshError) || err.code !== "unknown_recipient") return err;
  const { where, option } = naming(ctx, mesh);
  const near = await groupHint(client, err, group, { lister: `claudemesh group list${option}`, ...(where ? { where } : {}) });
  if (near) return near;
  const there = await elsewhere(ctx, mesh, async (c) => (await c.request("list_peers", {})).peers.some((p) => p.groups.includes(group)), "prefix");
  const also = there.meshes.length ? ` ${elsewhereText(`@${group}`, `group @${group}`, there.meshes, there.naming)}` : "";
  return new MeshError(err.code, `No member is in group @${group}${where ? ` in ${where}` : ""}.${also} A member joins it with: claudemesh group join ${group}${option}`, { cause: err });
}
