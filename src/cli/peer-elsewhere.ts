// A peer name that matches nobody in the mesh searched, said with what the user most likely meant:
// a member of that mesh who is gone (left, removed, banned), or a peer of that name in another mesh
// of theirs (CLAUDEMESH_MESH left on another mesh, or the wrong --mesh). Asked only once the name
// has failed, so a name that resolves costs nothing more.
import type { BrokerClient } from "../client/client.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { formerMember, namesExactly, peerHint, type PeerWhere } from "../client/name-hints.ts";
import type { PeerInfo } from "../protocol/results.ts";
import type { Ctx } from "./context.ts";
import { meshArg, meshLabel, meshOption } from "./mesh-named.ts";

/** How long the hint waits for the other meshes' brokers, each (in parallel): it only adds to a
 *  refusal already certain, so a broker that is slow or down adds nothing rather than a wait. */
const ELSEWHERE_MS = 3_000;

/** `promise`'s value, or `fallback` if it fails or takes longer than `ms`. */
function within<T>(ms: number, promise: Promise<T>, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/** The user's other meshes (not `searched`, not one whose broker refused them as removed) where
 *  `has` finds what was not found in `searched` (a peer of that name, a topic, a group), each asked
 *  over its own connection, at most ELSEWHERE_MS. */
async function meshesWith(ctx: Ctx, searched: MeshEntry, has: (client: BrokerClient, mesh: MeshEntry) => Promise<boolean>): Promise<MeshEntry[]> {
  const others = ctx.config().meshes.filter((m) => m.meshId !== searched.meshId && m.removedAt === undefined);
  const found = await Promise.all(
    others.map((m) =>
      within(
        ELSEWHERE_MS,
        (async () => {
          const client = await ctx.connect(m);
          try {
            return await has(client, m);
          } finally {
            client.close();
          }
        })(),
        false,
      ),
    ),
  );
  return others.filter((_, i) => found[i]);
}

/** Where else the user's meshes have what `has` looks for (nothing with one mesh joined), as a
 *  command names them: `meshes` by slug (by id where a slug is shared: meshArg, which a "mesh:"
 *  prefix takes as well as --mesh), and `naming` as the caller asked. */
export async function elsewhere(ctx: Ctx, searched: MeshEntry, has: (client: BrokerClient, mesh: MeshEntry) => Promise<boolean>, naming: PeerWhere["naming"]): Promise<{ meshes: string[]; naming: PeerWhere["naming"] }> {
  const cfg = ctx.config();
  const found = cfg.meshes.length > 1 ? await meshesWith(ctx, searched, has) : [];
  const meshes = found.map((m) => meshArg(cfg, m));
  return { meshes, naming };
}

/** resolveTarget's refusal `err` of `text` in `mesh` (whose `peers` the broker listed) said again
 *  (peerHint): naming the mesh when the user is in several, a former member of it the name names,
 *  and their other meshes where a peer has it, reached as `naming` says (send takes "slug:name",
 *  other commands --mesh). What cannot be read (the member list, another broker) adds nothing. */
export async function unknownPeer(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, err: unknown, text: string, peers: readonly PeerInfo[], naming: PeerWhere["naming"]): Promise<unknown> {
  const cfg = ctx.config();
  const peerThere = async (c: BrokerClient, m: MeshEntry) => (await c.request("list_peers", {})).peers.some((p) => p.memberPubkey !== m.publicKey && namesExactly(p, text));
  const [former, there] = await Promise.all([client.request("member_list", {}).then(({ members }) => formerMember(members, text), () => null), elsewhere(ctx, mesh, peerThere, naming)]);
  return peerHint(err, text, peers, mesh.publicKey, `claudemesh peers${meshOption(cfg, mesh)}`, {
    ...(cfg.meshes.length > 1 ? { mesh: meshLabel(cfg, mesh) } : {}),
    former,
    elsewhere: there.meshes,
    naming: there.naming,
  });
}
