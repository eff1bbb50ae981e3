// claudemesh list: joined meshes, your identity in each, and whether each broker answers (or, for a
// mesh whose broker refused this key as removed, that it did: the key never connects again).
import { brokerBase } from "../../client/broker-url.ts";
import { command } from "../context.ts";

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(`${brokerBase(url).base}/health`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

export async function run(args: { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const meshes = ctx.config().meshes;
    const rows = await Promise.all(
      meshes.map(async (m) => ({
        slug: m.slug,
        name: m.name,
        meshId: m.meshId,
        broker: m.brokerUrl,
        role: m.role,
        displayName: m.displayName,
        pubkey: m.publicKey,
        keyEpoch: Math.max(-1, ...m.meshKeys.map((k) => k.epoch)),
        reachable: await reachable(m.brokerUrl),
        removedAt: m.removedAt ?? null,
      })),
    );
    const state = (r: (typeof rows)[number]) => (r.removedAt !== null ? `REMOVED (refused since ${new Date(r.removedAt).toISOString()}; claudemesh leave ${r.slug} --yes forgets it)` : r.reachable ? "reachable" : "UNREACHABLE");
    ctx.out.result({ meshes: rows }, () =>
      rows.length === 0
        ? `No meshes yet (config dir ${ctx.env.configDir}). Create one: claudemesh new <name> --broker URL · or join: claudemesh join <link>`
        : rows.map((r) => `${r.slug.padEnd(20)} ${r.displayName} (${r.role})  ${r.broker}  ${state(r)}`).join("\n"),
    );
  });
}
