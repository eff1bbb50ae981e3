// claudemesh admin backup [--out FILE] / admin restore <file> [--force]: the broker's database,
// located like `serve` locates it (admin-config.ts).
// The work is in broker/backup.ts and broker/maintenance.ts; this file resolves the directory and prints.
import { command } from "../context.ts";
import { dataDirCommand, serveCommand } from "../../config/command-line.ts";
import { otherUser } from "../../local-file/owner.ts";
import { adminBroker, type AdminArgs } from "../admin-config.ts";
import { chainsVerified } from "../../broker/audit-verifier.ts";
import { lossLines } from "../restore-losses-text.ts";

type Args = AdminArgs & { json?: boolean; out?: string; file?: string; force?: boolean };

/** "1 mesh, 12 messages": what a database holds, as the backup and restore lines say it. */
const holds = (r: { meshes: number; messages: number }) => `${r.meshes} ${r.meshes === 1 ? "mesh" : "meshes"}, ${r.messages} ${r.messages === 1 ? "message" : "messages"}`;

export async function backup(args: Args): Promise<void> {
  await command(args, async (ctx) => {
    const { backupDataDir } = await import("../../broker/backup.ts");
    const { dataDir } = adminBroker(args, ctx.out).config;
    const r = await ctx.out.wait("backing up (VACUUM INTO + integrity_check + audit chains)", backupDataDir(dataDir, args.out));
    ctx.out.result(r, () =>
      [
        `Backed up to ${r.file}`,
        `  ${r.bytes} bytes, sha256 ${r.sha256}`,
        `  schema version ${r.schemaVersion}, ${holds(r)}; integrity_check ok; ${chainsVerified(r.auditChains)}`,
        `Restore with (broker stopped): ${dataDirCommand(["admin", "restore", r.file, "--force"], dataDir)}`,
      ].join("\n"),
    );
  });
}

export async function restore(args: Args & { file: string }): Promise<void> {
  await command(args, async (ctx) => {
    const { restoreDataDir } = await import("../../broker/maintenance.ts");
    const broker = adminBroker(args, ctx.out);
    const r = await ctx.out.wait("restoring (a copy of the backup, then its integrity_check and audit chains)", restoreDataDir(broker.config.dataDir, args.file, { force: Boolean(args.force) }));
    ctx.out.result(r, () =>
      [
        `Restored ${r.file} → ${r.database}${r.via ? ` (the file ${r.via} links to)` : ""}`,
        `  integrity_check ok, schema version ${r.schemaVersion}, ${holds(r)}; ${chainsVerified(r.auditChains)}`,
        r.previous ? `  the previous database was kept as ${r.previous}` : "  there was no previous database",
        `  new epoch ${r.epoch}: connected clients will see that history may have rolled back`,
        ...lossLines(r.losses),
        ...(r.replayMemory.from === "none"
          ? [
              `  replay memory not kept (${r.replayMemory.why}): the broker refuses hellos, signed requests, invite claims`,
              `  and dashboard links made before ${r.replayMemory.until} (a minute after this restore), as it cannot tell them from replays; clients retry`,
            ]
          : []),
        "",
        "New operator token for the dashboard (the backup's token, and any other, no longer works; shown only now):",
        `  ${r.operatorToken}`,
        "",
        `Start the broker again (${serveCommand(broker, otherUser(broker.config.dataDir))}, or systemctl start claudemesh).`,
      ].join("\n"),
    );
  });
}
