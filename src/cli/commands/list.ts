// claudemesh list: joined meshes, your identity in each, and whether each broker answers (or, for a
// mesh whose broker refused this key as removed, that it did: the key never connects again).
import { brokerProblem } from "../broker-health.ts";
import { command } from "../context.ts";
import { meshArg } from "../mesh-named.ts";
import { alignColumns, nameCell } from "../table.ts";

export async function run(args: { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const meshes = ctx.config().meshes;
    const rows = await Promise.all(
      meshes.map(async (m) => {
        const problem = await brokerProblem(ctx, m.brokerUrl, "/health");
        return {
          slug: m.slug,
          name: m.name,
          meshId: m.meshId,
          broker: m.brokerUrl,
          role: m.role,
          displayName: m.displayName,
          pubkey: m.publicKey,
          keyEpoch: Math.max(-1, ...m.meshKeys.map((k) => k.epoch)),
          reachable: problem === null,
          /** Why the broker cannot be used, in the words every command uses; null when it answers. */
          brokerProblem: problem,
          removedAt: m.removedAt ?? null,
        };
      }),
    );
    const state = (r: (typeof rows)[number]) =>
      r.removedAt !== null ? `REMOVED (refused since ${new Date(r.removedAt).toISOString()}; claudemesh leave ${meshArg(ctx.config(), r)} --yes forgets it)` : (r.brokerProblem === null ? "reachable" : `UNREACHABLE: ${r.brokerProblem}`);
    ctx.out.result({ meshes: rows }, () =>
      rows.length === 0
        ? `No meshes yet (config dir ${ctx.env.configDir}). Create one: claudemesh new <name> --broker URL · or join: claudemesh join - (then paste the link)`
        : alignColumns(rows.map((r) => [r.slug, `${nameCell(r.displayName)} (${r.role})`, r.broker, state(r)])).join("\n"),
    );
  });
}
