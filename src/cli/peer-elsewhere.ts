// A peer name that matches nobody in the mesh searched, said with what the user most likely meant:
// a member of that mesh who is gone (left, removed, banned), or a peer of that name in another mesh
// of theirs (CLAUDEMESH_MESH left on another mesh, or the wrong --mesh). Asked only once the name
// has failed, so a name that resolves costs nothing more.
import type { BrokerClient } from "../client/client.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { formerMember, namesExactly, peerHint, type PeerWhere } from "../client/name-hints.ts";
import type { PeerInfo } from "../protocol/results.ts";
import type { Ctx } from "./context.ts";
import { meshLabel } from "./mesh-named.ts";

/** How long the hint waits for the other meshes' brokers, each (in parallel): it only adds to a
 *  refusal already certain, so a broker that is slow or down adds nothing rather than a wait. */
const ELSEWHERE_MS = 3_000;

/** `promise`'s value, or `fallback` if it fails or takes longer than `ms`. */
function within<T>(ms: number, promise: Promise<T>, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/** The user's other meshes (not `searched`, not one whose broker refused them as removed) where a
 *  peer other than themselves has the name `text` (namesExactly): each asked for its peers over
 *  its own connection, at most ELSEWHERE_MS. */
async function meshesWith(ctx: Ctx, searched: MeshEntry, text: string): Promise<MeshEntry[]> {
  const others = ctx.config().meshes.filter((m) => m.meshId !== searched.meshId && m.removedAt === undefined);
  const has = await Promise.all(
    others.map((m) =>
      within(
        ELSEWHERE_MS,
        (async () => {
          const client = await ctx.connect(m);
          const { peers } = await client.request("list_peers", {});
          client.close();
          return peers.some((p) => p.memberPubkey !== m.publicKey && namesExactly(p, text));
        })(),
        false,
      ),
    ),
  );
  return others.filter((_, i) => has[i]);
}

/** resolveTarget's refusal `err` of `text` in `mesh` (whose `peers` the broker listed) said again
 *  (peerHint): naming the mesh when the user is in several, a former member of it the name names,
 *  and their other meshes where a peer has it, reached as `naming` says (send takes "slug:name",
 *  other commands --mesh). What cannot be read (the member list, another broker) adds nothing. */
export async function unknownPeer(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, err: unknown, text: string, peers: readonly PeerInfo[], naming: PeerWhere["naming"]): Promise<unknown> {
  const cfg = ctx.config();
  const several = cfg.meshes.length > 1;
  const [former, elsewhere] = await Promise.all([
    client.request("member_list", {}).then(({ members }) => formerMember(members, text), () => null),
    several ? meshesWith(ctx, mesh, text) : Promise.resolve([]),
  ]);
  // A slug another joined mesh shares chooses neither: the id is what works there.
  const chooser = (m: MeshEntry) => (cfg.meshes.some((o) => o.meshId !== m.meshId && o.slug === m.slug) ? m.meshId : m.slug);
  return peerHint(err, text, peers, mesh.publicKey, "claudemesh peers", {
    ...(several ? { mesh: meshLabel(cfg, mesh) } : {}),
    former,
    // A mesh id is no prefix (a prefix is only ever a slug): such a mesh is named by --mesh.
    elsewhere: elsewhere.map(chooser),
    naming: naming === "prefix" && elsewhere.every((m) => chooser(m) === m.slug) ? "prefix" : "flag",
  });
}
