// One mesh's entry as the config file holds it now: the CLI writes it from other processes (keys
// after a `rekey`, the owner's record of removals after a `kick`, the broker URL after
// `set-broker`), and a running session takes those in.
import { loadConfig, type MeshEntry } from "../client/local/config-file.ts";
import type { Log } from "../log/log.ts";

export class MeshOnDisk {
  /** The broker URL of the latest connection attempt (brokerUrl). */
  private usedUrl: string | null = null;

  constructor(
    private readonly configDir: string,
    private readonly entry: MeshEntry,
    private readonly log: Log,
  ) {}

  /** The entry now; undefined once the mesh is no longer in the file. Throws if it cannot be read. */
  read(): MeshEntry | undefined {
    return loadConfig(this.configDir).meshes.find((m) => m.meshId === this.entry.meshId);
  }

  /** The broker URL to connect to now: the entry's as the file has it, so that a running session
   *  follows `claudemesh set-broker` at its next connection attempt (the client asks before each);
   *  the one used last when the file cannot be read. */
  brokerUrl(): string {
    let url = this.usedUrl ?? this.entry.brokerUrl;
    try {
      url = this.read()?.brokerUrl ?? url;
    } catch (err) {
      this.log.debug("config not read for the broker URL; keeping the last one", { mesh: this.entry.slug, err });
    }
    if (this.usedUrl !== null && url !== this.usedUrl) this.log.warn("the mesh's broker URL changed in the config: connecting there", { mesh: this.entry.slug, from: this.usedUrl, to: url });
    return (this.usedUrl = url);
  }
}
