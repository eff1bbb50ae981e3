// claudemesh admin backup [--out FILE] / admin restore <file> [--force]: the broker's database,
// located like `serve` locates it (--data-dir > CLAUDEMESH_DATA_DIR > config file > default).
// The work is in broker/maintenance.ts; this file resolves the directory and prints.
import { ConfigError, loadBrokerConfig, processEnv } from "../../config/load.ts";
import { command } from "../context.ts";
import { UsageError } from "../output.ts";

type Args = { "data-dir"?: string; json?: boolean; out?: string; file?: string; force?: boolean };

function dataDirOf(args: Args): string {
  try {
    return loadBrokerConfig({ flags: { dataDir: args["data-dir"] }, env: processEnv() }).dataDir;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export async function backup(args: Args): Promise<void> {
  await command(args, async (ctx) => {
    const { backupDataDir } = await import("../../broker/maintenance.ts");
    const r = await ctx.out.wait("backing up (VACUUM INTO + integrity_check)", backupDataDir(dataDirOf(args), args.out));
    ctx.out.result(r, () =>
      [`Backed up to ${r.file}`, `  ${r.bytes} bytes, sha256 ${r.sha256}`, `  schema version ${r.schemaVersion}, ${r.meshes} meshes, ${r.messages} messages; integrity_check ok`, `Restore with: claudemesh admin restore ${r.file} --force (broker stopped)`].join("\n"),
    );
  });
}

export async function restore(args: Args & { file: string }): Promise<void> {
  await command(args, async (ctx) => {
    const { restoreDataDir } = await import("../../broker/maintenance.ts");
    const r = await restoreDataDir(dataDirOf(args), args.file, { force: Boolean(args.force) });
    ctx.out.result(r, () =>
      [
        `Restored ${r.file} → ${r.database}`,
        `  integrity_check ok, schema version ${r.schemaVersion}, ${r.meshes} meshes, ${r.messages} messages`,
        r.previous ? `  the previous database was kept as ${r.previous}` : "  there was no previous database",
        `  new epoch ${r.epoch}: connected clients will see that history may have rolled back`,
        "Start the broker again (claudemesh serve, or systemctl start claudemesh).",
      ].join("\n"),
    );
  });
}
