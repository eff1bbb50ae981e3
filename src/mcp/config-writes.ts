// What one MCP server writes to config.json for one mesh: the keys its session learnt, and that the
// broker refused the member's key as removed. Each waits for the config lock on the event loop
// (src/client/local/config-lock.ts), so the server keeps answering Claude Code and its broker
// meanwhile; written() lets the server finish them before it exits.
import { addMeshKeys, recordRemoval, updateConfigAsync, type MeshKey } from "../client/local/config-file.ts";
import type { Log } from "../log/log.ts";

export class ConfigWrites {
  private readonly pending = new Set<Promise<unknown>>();

  /** `log`: the mesh's (its lines name it). */
  constructor(
    private readonly configDir: string,
    private readonly meshId: string,
    private readonly log: Log,
  ) {}

  /** Adds the keys to the mesh's entry as it is on disk, keeping every epoch already there (the
   *  CLI may have written newer ones). Resolves to whether the file holds them now; never rejects:
   *  a failure (LOCK_WAIT_MS behind a stopped holder, a full disk) is logged, and the caller
   *  leaves the message that brought them unacked. */
  saveKeys(meshKeys: readonly MeshKey[]): Promise<boolean> {
    const saved = updateConfigAsync(this.configDir, addMeshKeys(this.meshId, meshKeys), this.waiting);
    return this.track(saved.then(() => true, (err: unknown) => (this.log.warn("mesh keys not saved in the config", { err }), false)));
  }

  /** Marks the mesh removed (`list` shows it). Best effort: the tools report the refusal whether
   *  or not this could be saved. */
  recordRemoved(): void {
    void this.track(recordRemoval(this.configDir, this.meshId, (err) => this.log.warn("removal not recorded in the config", { err }), this.waiting));
  }

  /** Resolves once no write is pending, those begun while it waits included (each is done within
   *  LOCK_WAIT_MS). */
  async written(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private readonly waiting = (holder: number) => this.log.info("config.json is locked by another process; waiting", { holder });

  /** Keeps `write` (which never rejects) until it is done. */
  private track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
    return write;
  }
}
