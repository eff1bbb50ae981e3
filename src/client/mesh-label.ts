// How one joined mesh is named to a person or a model among the others joined, the same way by
// the CLI and the MCP tools. Two meshes on two brokers may share a slug: the slug alone names
// neither, so the label adds the broker's host, and a prefix or `--mesh` takes the mesh id.
import type { MeshEntry } from "./local/config-file.ts";

type Named = Pick<MeshEntry, "meshId" | "slug" | "brokerUrl">;

/** The other meshes of `all` with `mesh`'s slug (none, usually). */
const twinsOf = (all: readonly Named[], mesh: Pick<Named, "meshId" | "slug">): Named[] => all.filter((m) => m.meshId !== mesh.meshId && m.slug === mesh.slug);

/** The mesh as told apart from `all` (the meshes joined): its slug; with another of that slug,
 *  "ops on 127.0.0.1:7900" (its broker's host), or "ops (id …)" should the hosts match too. */
export function meshLabel(all: readonly Named[], mesh: Named): string {
  const twins = twinsOf(all, mesh);
  if (twins.length === 0) return mesh.slug;
  const host = hostOf(mesh.brokerUrl);
  return twins.some((t) => hostOf(t.brokerUrl) === host) ? `${mesh.slug} (id ${mesh.meshId})` : `${mesh.slug} on ${host}`;
}

/** What chooses this mesh among `all`, as `--mesh` and as a "<mesh>:" target prefix: its slug,
 *  or its id when another joined mesh shares the slug (a shared slug chooses neither). */
export const meshChoice = (all: readonly Named[], mesh: Pick<Named, "meshId" | "slug">): string => (twinsOf(all, mesh).length ? mesh.meshId : mesh.slug);

/** The host (and port) of a broker URL, or the URL as saved when it does not parse (one an older
 *  version saved without a scheme). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
