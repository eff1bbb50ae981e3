// One mesh's entry as the config file holds it now: the CLI writes it from other processes (keys
// after a `rekey`, the owner's record of removals after a `kick`, the broker URL after
// `set-broker`), and a process that runs for long (the MCP server, `claudemesh inbox --follow`)
// takes those in.
import { loadConfig, type MeshEntry } from "./config-file.ts";

/** What a process says about the file, each in its own way (the MCP server logs, the CLI writes a
 *  line to stderr): the broker URL changed since the last attempt, or the file could not be read
 *  (the last URL is kept). */
export type DiskNotes = { moved(from: string, to: string): void; unreadable(err: unknown): void };

export class MeshOnDisk {
  /** The broker URL of the latest connection attempt (brokerUrl). */
  private usedUrl: string | null = null;

  constructor(
    private readonly configDir: string,
    private readonly entry: MeshEntry,
    private readonly notes: DiskNotes,
  ) {}

  /** The entry now; undefined once the mesh is no longer in the file. Throws if it cannot be read. */
  read(): MeshEntry | undefined {
    return loadConfig(this.configDir).meshes.find((m) => m.meshId === this.entry.meshId);
  }

  /** The broker URL to connect to now: the entry's as the file has it, so that a client given this
   *  as its `url` function follows `claudemesh set-broker` at its next connection attempt (the
   *  client asks before each); the one used last when the file cannot be read or no longer holds
   *  the mesh. */
  brokerUrl(): string {
    let url = this.usedUrl ?? this.entry.brokerUrl;
    try {
      url = this.read()?.brokerUrl ?? url;
    } catch (err) {
      this.notes.unreadable(err);
    }
    if (this.usedUrl !== null && url !== this.usedUrl) this.notes.moved(this.usedUrl, url);
    return (this.usedUrl = url);
  }
}
