// claudemesh whoami: your identity in each joined mesh, or in the one --mesh or CLAUDEMESH_MESH
// names (as every command chooses one: a name not joined is refused, exit 4).
import { command, type CommonArgs } from "../context.ts";

export async function run(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const meshes = args.mesh || ctx.env.mesh ? [ctx.mesh({ namedInResult: true })] : ctx.config().meshes;
    const ids = meshes.map((m) => ({ mesh: m.slug, meshId: m.meshId, memberId: m.memberId, displayName: m.displayName, role: m.role, pubkey: m.publicKey, broker: m.brokerUrl }));
    ctx.out.result({ identities: ids }, () => (ids.length === 0 ? `You have not joined any mesh (config dir ${ctx.env.configDir}).` : ids.map((i) => `${i.mesh}: ${i.displayName} (${i.role}) key ${i.pubkey}`).join("\n")));
  });
}
