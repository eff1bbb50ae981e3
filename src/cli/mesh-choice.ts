// Which joined mesh a command acts on: --mesh, else (for send) a "slug:" prefix on the target,
// else CLAUDEMESH_MESH, else the only mesh joined. An explicit choice always beats the default.
import { selectMesh, type LocalConfig, type MeshEntry } from "../client/local/config-file.ts";
import { splitMeshPrefix } from "../client/resolve.ts";
import { meshChoice } from "../client/mesh-label.ts";
import { MeshError } from "../protocol/errors.ts";
import { Slug } from "../protocol/fields.ts";
import { UsageError } from "./output.ts";

/** The mesh for `flag` (--mesh), else `envMesh` (CLAUDEMESH_MESH), else the only one. Throws
 *  MeshError not_found for a mesh not joined (naming the variable when it came from there) and
 *  invalid_argument when several are joined and nothing chose one; `also` adds a way to choose
 *  to that message (send's "team:bob"). */
export function chooseMesh(cfg: LocalConfig, flag: string | undefined, envMesh: string | null, also = ""): MeshEntry {
  if (flag) return selectMesh(cfg, flag);
  if (envMesh) {
    try {
      return selectMesh(cfg, envMesh, (id) => `CLAUDEMESH_MESH=${id}`);
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

/** send's mesh and target: "team:bob" names mesh team (as the MCP tools read it), and so does
 *  "<its mesh id>:bob", as --mesh takes either; a target without a joined mesh's slug or id before
 *  ":" is left whole. A prefix and a --mesh naming different meshes is a usage error; a prefix
 *  beats CLAUDEMESH_MESH. */
export function meshOfTarget(cfg: LocalConfig, target: string, flag: string | undefined, envMesh: string | null): { mesh: MeshEntry; target: string } {
  const { slug, rest } = splitMeshPrefix(target, cfg.meshes.flatMap((m) => [m.slug, m.meshId]));
  if (slug === null) {
    // Nothing else chooses among several meshes, so the prefix was meant as one.
    const unknown = unknownMeshPrefix(cfg, target);
    if (unknown !== null && !flag && !envMesh && cfg.meshes.length > 1) throw unknownMesh(cfg, target, unknown, false);
    const example = cfg.meshes[0] ? `, a mesh prefix on the target (${meshChoice(cfg.meshes, cfg.meshes[0])}:${target})` : "";
    return { mesh: chooseMesh(cfg, flag, envMesh, example), target };
  }
  // A shared slug as the prefix chooses neither mesh: the refusal names each one's id as the prefix.
  const mesh = selectMesh(cfg, slug, (id) => `${id}:${rest}`);
  if (flag && selectMesh(cfg, flag).meshId !== mesh.meshId) throw new UsageError(`"${target}" names mesh ${slug} but --mesh names ${flag}; give only one of them.`);
  return { mesh, target: rest };
}

const SLUG_RE = new RegExp(Slug.pattern!); // the protocol's own: a slug is what the broker accepts as one

/** The "slug:" a target starts with when it is shaped like a slug yet names no joined mesh
 *  ("nomesh" in "nomesh:bob"); null otherwise. Such a target may still be a peer's name (names may
 *  hold ":"), so a caller with one mesh to look in says so only once no peer matched. */
export function unknownMeshPrefix(cfg: LocalConfig, target: string): string | null {
  const i = target.indexOf(":");
  const prefix = i > 0 ? target.slice(0, i) : "";
  return SLUG_RE.test(prefix) && !cfg.meshes.some((m) => m.slug === prefix) ? prefix : null;
}

/** MeshError not_found (exit 4) saying that `prefix` of `target` is not a joined mesh, listing
 *  the joined ones; `noPeer` adds that no peer is called `target` either. */
export function unknownMesh(cfg: LocalConfig, target: string, prefix: string, noPeer: boolean, cause?: unknown): MeshError {
  const slugs = cfg.meshes.map((m) => m.slug);
  const example = slugs[0] ? `, as in ${slugs[0]}:${target.slice(prefix.length + 1)}` : "";
  const head = noPeer ? `No peer matches "${target}", and "${prefix}" is not a mesh you are in` : `"${prefix}" is not a mesh you are in`;
  // Not yet looked up as a name: say how to, should it be one.
  const asName = noPeer ? "" : ` If "${target}" is a peer's name, choose the mesh with --mesh <slug>.`;
  return new MeshError("not_found", `${head} (you are in: ${slugs.join(", ") || "none"}). The part before ":" names the mesh${example}.${asName}`, cause === undefined ? undefined : { cause });
}
