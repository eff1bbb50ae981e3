// claudemesh leave <slug>: tell the broker (your membership is revoked and audited), then delete
// everything this machine kept for the mesh: the member keys, the Claude Code sessions' keys, the
// message log, every replay memory (the CLI's and each session's) and the audit checkpoint. Asks
// for confirmation on a terminal unless --yes. --forget skips the broker: the only way for an
// owner (who cannot leave the mesh they own), or for a mesh whose broker is gone.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { NoMeshError, selectMesh, type LocalConfig, type MeshEntry } from "../../client/local/config-file.ts";
import { shellCommand } from "../../config/command-line.ts";
import { removeMeshLog } from "../../client/local/message-log.ts";
import { removeSessionKeys } from "../../client/local/session-keys.ts";
import { MeshError } from "../../protocol/errors.ts";
import { command } from "../context.ts";
import { UsageError } from "../output.ts";
import { meshField, meshLabel } from "../mesh-named.ts";

/** No answer from the broker (down, unreachable, or no reply in time): nothing was deleted here,
 *  and the user is told both ways on: again once the broker answers (a leave it did carry out is
 *  then answered `revoked`, and the keys are deleted), or --forget for a broker that is gone. */
function unreachable(err: unknown, slug: string): unknown {
  if (!(err instanceof MeshError && (err.code === "unavailable" || err.code === "timeout"))) return err;
  return new MeshError(
    err.code,
    `${err.message} Nothing was deleted: your keys for "${slug}" are still on this machine. Run the same command again once the broker answers; or, if it is gone for good, delete them here without telling it (your membership stays on the broker): claudemesh leave ${slug} --yes --forget`,
    { cause: err },
  );
}

type LeaveArgs = { slug?: string; yes?: boolean; forget?: boolean; json?: boolean };

/** No mesh named: refused (exit 2) with the command to type, the options given kept. Not even the
 *  only mesh is chosen for it (as every other command does): the deletion is for good, and --yes
 *  (often typed by habit, or in a script) only skips the question, not the naming. */
function nameTheMesh(cfg: LocalConfig, args: LeaveArgs): UsageError {
  const flags = [...(args.yes ? ["--yes"] : []), ...(args.forget ? ["--forget"] : [])];
  const shared = (m: MeshEntry) => cfg.meshes.filter((x) => x.slug === m.slug).length > 1;
  const named = cfg.meshes.map((m) => shellCommand(["claudemesh", "leave", shared(m) ? m.meshId : m.slug, ...flags]));
  const why = "Name the mesh to leave: leaving deletes your keys for it for good, so leave never picks one for you";
  if (named.length === 1) return new UsageError(`${why}, even your only mesh.`, { fix: named[0]! });
  return new UsageError(`${why}.`, { fix: named.join(", or ") });
}

export async function run(args: LeaveArgs): Promise<void> {
  await command(args, async (ctx) => {
    // The mesh is leave's argument, never --mesh or CLAUDEMESH_MESH: an irreversible deletion
    // acts only on the mesh typed for it. A shared slug is refused naming `leave <id>` for each.
    const before = ctx.config();
    if (!args.slug) throw before.meshes.length > 0 ? nameTheMesh(before, args) : new NoMeshError();
    const slug = args.slug;
    const mesh = selectMesh(before, slug, (id) => `claudemesh leave ${id}`);
    if (mesh.role === "owner" && !args.forget) {
      throw new MeshError(
        "forbidden",
        `You own "${mesh.name}": an owner cannot leave it, since only the owner can rotate its keys or remove members. To delete your keys for it from this machine anyway (the mesh stays on the broker, and nobody can manage it any more): claudemesh leave ${slug} --yes --forget`,
      );
    }
    if (!args.yes) {
      if (!process.stdin.isTTY) throw new UsageError("Leaving deletes your keys for this mesh; confirm with --yes.", { fix: shellCommand(["claudemesh", "leave", slug, "--yes", ...(args.forget ? ["--forget"] : [])]) });
      const answer = prompt(`Leave "${mesh.name}" and delete your keys for it? Type the slug to confirm:`);
      if (answer?.trim() !== mesh.slug) throw new UsageError("Not confirmed; nothing changed.");
    }
    if (!args.forget) {
      try {
        const client = await ctx.connect(mesh);
        await client.request("leave", {});
      } catch (err) {
        // A member already removed, or a mesh the broker no longer has, can still be forgotten locally.
        if (!(err instanceof MeshError && ["revoked", "unauthorized", "not_found"].includes(err.code))) throw unreachable(err, slug);
      }
    }
    ctx.update((c) => ({ ...c, meshes: c.meshes.filter((m) => m.meshId !== mesh.meshId) }));
    removeMeshLog(ctx.env.configDir, mesh.meshId);
    removeSessionKeys(ctx.env.configDir, mesh.meshId);
    rmSync(join(ctx.env.configDir, "audit", `${mesh.meshId}.json`), { force: true });
    // In several meshes, which one (its broker too when another has the same slug): the names
    // may be alike, and the keys are gone for good.
    const which = before.meshes.length > 1 ? ` (${meshLabel(before, mesh)})` : "";
    ctx.out.result({ left: mesh.slug, toldBroker: !args.forget, ...meshField(before, mesh) }, () =>
      args.forget ? `Forgot "${mesh.name}"${which} on this machine; its keys are deleted here (the broker was not told).` : `Left "${mesh.name}"${which}; its keys are deleted from this machine.`,
    );
  });
}
