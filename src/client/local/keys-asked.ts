// This machine's memory of its key requests (key-request.ts KeyAskMemory), kept in the mesh's
// entry of config.json (`keysAsked`), so that the CLI's commands and the MCP servers of one member
// key, each a process of its own, send the owner one request rather than one each.
import type { KeyAskMemory } from "../key-request.ts";
import { changeMesh, loadConfig, updateConfigAsync } from "./config-file.ts";

/** The memory of mesh `meshId` in `configDir`'s config. A config that cannot be read or written
 *  goes to `failed` and costs only the note (the member may ask once more than needed). */
export function keysAskedOnDisk(configDir: string, meshId: string, failed: (err: unknown) => void): KeyAskMemory {
  return {
    last() {
      try {
        return loadConfig(configDir).meshes.find((m) => m.meshId === meshId)?.keysAsked;
      } catch (err) {
        failed(err);
        return undefined;
      }
    },
    asked: (note) => updateConfigAsync(configDir, changeMesh(meshId, (e) => ({ ...e, keysAsked: note }))).then(() => {}, failed),
  };
}
