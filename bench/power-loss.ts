// Power loss for the chaos run (`bun run chaos -- --power-loss`): the broker runs with
// power-loss-shim.c preloaded, which keeps a shadow of its database and WAL holding only what was
// synced; after each SIGKILL the shadows replace the files (every unsynced write lost) and the
// -shm index is removed, then the broker starts on what a disk would hold after the power failed.
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, truncateSync } from "node:fs";
import { join, resolve } from "node:path";

const SHIM_SOURCE = resolve(import.meta.dir, "power-loss-shim.c");
const DB_FILE = "claudemesh.db";

export class PowerLoss {
  private readonly shadowDir: string;
  private readonly files: string[];
  private readonly shim: string;

  /** Compiles the shim into `workDir` (needs a C compiler: `cc`, Debian's gcc). Throws with the
   *  compiler's message when it cannot. */
  constructor(
    private readonly dataDir: string,
    workDir: string,
  ) {
    this.shadowDir = join(workDir, "durable");
    mkdirSync(this.shadowDir, { recursive: true });
    const real = realpathSync(dataDir);
    this.files = [join(real, DB_FILE), join(real, `${DB_FILE}-wal`)];
    this.shim = join(workDir, "power-loss-shim.so");
    const cc = Bun.spawnSync(["cc", "-shared", "-fPIC", "-O2", "-o", this.shim, SHIM_SOURCE, "-ldl", "-lpthread"], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(`power loss: compiling ${SHIM_SOURCE} failed (is a C compiler installed? apt-get install gcc): ${cc.stderr.toString().trim()}`);
  }

  /** The environment that makes a broker keep the shadows. */
  env(): Record<string, string> {
    return { LD_PRELOAD: this.shim, POWERLOSS_FILES: this.files.join(","), POWERLOSS_SHADOW: this.shadowDir };
  }

  /** Before a start: the files as they are now (the broker is down) are what the disk holds. */
  settled(): void {
    for (const file of this.files) {
      const shadow = this.shadowOf(file);
      if (existsSync(file)) copyFileSync(file, shadow);
      else rmSync(shadow, { force: true });
    }
  }

  /** After a SIGKILL: every file back to its last synced state (empty if never synced; a created
   *  file is assumed to survive), and no -shm. */
  fail(): void {
    for (const file of this.files) {
      const shadow = this.shadowOf(file);
      if (existsSync(shadow)) copyFileSync(shadow, file);
      else if (existsSync(file)) truncateSync(file, 0);
    }
    rmSync(join(this.dataDir, `${DB_FILE}-shm`), { force: true });
  }

  private shadowOf(file: string): string {
    return join(this.shadowDir, file.slice(file.lastIndexOf("/") + 1));
  }
}
