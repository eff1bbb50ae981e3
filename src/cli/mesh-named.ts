// Which mesh a result is about, said once for every command. Someone in one mesh sees nothing
// new; someone in several (where CLAUDEMESH_MESH or --mesh chose, possibly a left-over variable)
// sees the mesh named on every result of a mesh-scoped command, and its slug and id in --json.
import type { LocalConfig, MeshEntry } from "../client/local/config-file.ts";
import type { Output } from "./output.ts";
import { meshChoice, meshLabel as labelAmong } from "../client/mesh-label.ts";

/** The mesh as a person tells it apart from the others joined: its slug, plus its broker's host
 *  when another joined mesh (on another broker) has the same slug (client/mesh-label.ts, which the
 *  MCP tools use too). */
export const meshLabel = (cfg: LocalConfig, mesh: MeshEntry): string => labelAmong(cfg.meshes, mesh);

/** How a command's argument or --mesh names `mesh` without doubt: its slug, or its id when another
 *  joined mesh shares the slug (a shared slug chooses neither, and is refused). */
export const meshArg = (cfg: LocalConfig, mesh: Pick<MeshEntry, "meshId" | "slug">): string => meshChoice(cfg.meshes, mesh);

/** The option a next-step hint needs to act on `mesh`: "" with one mesh joined, else
 *  ` --mesh <slug or id>` (meshArg). */
export const meshOption = (cfg: LocalConfig, mesh: MeshEntry): string => (cfg.meshes.length < 2 ? "" : ` --mesh ${meshArg(cfg, mesh)}`);

/** The mesh as each printed message names it in its header (formatMessage's `mesh`): its label
 *  when the user is in several meshes, else undefined (nothing shown). */
export const meshInLines = (cfg: LocalConfig, mesh: MeshEntry): string | undefined => (cfg.meshes.length > 1 ? meshLabel(cfg, mesh) : undefined);

/** The --json field naming the mesh ({} with one mesh joined, so that output stays as it was). */
export const meshField = (cfg: LocalConfig, mesh: MeshEntry): { mesh?: { slug: string; id: string } } => (cfg.meshes.length > 1 ? { mesh: { slug: mesh.slug, id: mesh.meshId } } : {});

/** Names in a result the mesh `chosen()` returns (null: the command chose none, or its result
 *  names the mesh itself), when the user is in several. A one-line result ends with
 *  " (in <mesh>)", as send's "Sent to bob in side-project"; a longer one (a list) starts with a
 *  line "In <mesh>:"; one whose every line names it already (`meshInText`: messages, each naming
 *  it in its header, where no body reaches) is left as it is. A --json object gains
 *  `mesh: {slug, id}` unless it has a `mesh` already. */
export function namingMesh(out: Output, chosen: () => { cfg: LocalConfig; mesh: MeshEntry } | null): Output {
  return {
    ...out,
    result(data, human, opts) {
      const c = chosen();
      if (!c || c.cfg.meshes.length < 2) return out.result(data, human);
      const label = meshLabel(c.cfg, c.mesh);
      const isObject = typeof data === "object" && data !== null && !Array.isArray(data);
      const named = isObject && !("mesh" in data) ? { ...data, ...meshField(c.cfg, c.mesh) } : data;
      if (opts?.meshInText) return out.result(named, human);
      return out.result(named, () => {
        const text = human();
        return text.includes("\n") ? `In ${label}:\n${text}` : `${text} (in ${label})`;
      });
    },
  };
}
