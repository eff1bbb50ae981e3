// Which joined mesh a command acts on: --mesh, else (for send) a "slug:" prefix on the target,
// else CLAUDEMESH_MESH, else the only mesh joined. An explicit choice always beats the default.
import { selectMesh, type LocalConfig, type MeshEntry } from "../client/local/config-file.ts";
import { splitMeshPrefix } from "../client/resolve.ts";
import { MeshError } from "../protocol/errors.ts";
import { UsageError } from "./output.ts";

/** The mesh for `flag` (--mesh), else `envMesh` (CLAUDEMESH_MESH), else the only one. Throws
 *  MeshError not_found for a mesh not joined (naming the variable when it came from there) and
 *  invalid_argument when several are joined and nothing chose one; `also` adds a way to choose
 *  to that message (send's "team:bob"). */
export function chooseMesh(cfg: LocalConfig, flag: string | undefined, envMesh: string | null, also = ""): MeshEntry {
  if (flag) return selectMesh(cfg, flag);
  if (envMesh) {
    try {
      return selectMesh(cfg, envMesh);
    } catch (err) {
      if (!(err instanceof MeshError && err.code === "not_found" && cfg.meshes.length > 0)) throw err;
      throw new MeshError("not_found", `${err.message} CLAUDEMESH_MESH names it: change or unset it, or pass --mesh.`, { cause: err });
    }
  }
  if (cfg.meshes.length > 1) {
    const slugs = cfg.meshes.map((m) => m.slug);
    throw new MeshError("invalid_argument", `You are in several meshes (${slugs.join(", ")}); choose one with --mesh <slug>${also}, or set CLAUDEMESH_MESH=<slug> to make one the default.`);
  }
  return selectMesh(cfg);
}

/** send's mesh and target: "team:bob" names mesh team (as the MCP tools read it), a target without
 *  a known slug before ":" is left whole. A prefix and a --mesh naming different meshes is a
 *  usage error; a prefix beats CLAUDEMESH_MESH. */
export function meshOfTarget(cfg: LocalConfig, target: string, flag: string | undefined, envMesh: string | null): { mesh: MeshEntry; target: string } {
  const { slug, rest } = splitMeshPrefix(target, cfg.meshes.map((m) => m.slug));
  if (slug === null) {
    const example = cfg.meshes[0] ? `, a mesh prefix on the target (${cfg.meshes[0].slug}:${target})` : "";
    return { mesh: chooseMesh(cfg, flag, envMesh, example), target };
  }
  const mesh = selectMesh(cfg, slug);
  if (flag && selectMesh(cfg, flag).meshId !== mesh.meshId) throw new UsageError(`"${target}" names mesh ${slug} but --mesh names ${flag}; give only one of them.`);
  return { mesh, target: rest };
}
