// claudemesh new <name>: keys are generated here; the broker learns only public keys.
import { randomId } from "../../crypto/hash.ts";
import { generateSigningKeypair } from "../../crypto/sign.ts";
import { createMesh, httpBase } from "../../client/http.ts";
import { upsertMesh } from "../../client/local/config-file.ts";
import { makeMeshKey } from "../../client/mesh-session.ts";
import { userInfo } from "node:os";
import { command } from "../context.ts";
import { UsageError } from "../output.ts";

export const slugify = (name: string) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "mesh";

export async function run(args: { name: string; broker?: string; slug?: string; "display-name"?: string; json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const broker = args.broker ?? ctx.env.brokerUrl;
    if (!broker) throw new UsageError("No broker given. Pass --broker https://your-broker (or set CLAUDEMESH_BROKER_URL); run one with `claudemesh serve`.");
    const base = httpBase(broker);
    const slug = args.slug ?? slugify(args.name);
    const keys = generateSigningKeypair();
    const displayName = args["display-name"] ?? userInfo().username ?? "owner";
    const { mesh, member } = await ctx.out.wait("creating the mesh", createMesh(base, keys, { meshId: randomId(), slug, name: args.name, ownerDisplayName: displayName }));
    ctx.save(
      upsertMesh(ctx.config(), {
        meshId: mesh.id,
        slug: mesh.slug,
        name: mesh.name,
        brokerUrl: base,
        memberId: member.memberId,
        displayName,
        role: "owner",
        ownerPubkey: keys.publicKey,
        publicKey: keys.publicKey,
        secretKey: keys.secretKey,
        meshKeys: [makeMeshKey(0)],
        joinedAt: Date.now(),
      }),
    );
    ctx.out.result({ mesh: { id: mesh.id, slug: mesh.slug, name: mesh.name, broker: base }, member: { id: member.memberId, pubkey: keys.publicKey, displayName, role: "owner" } }, () =>
      [
        `Created mesh "${mesh.name}" (${mesh.slug}) on ${base}. You are its owner, "${displayName}".`,
        `#general exists; your keys are in ${ctx.env.configDir} (back them up: claudemesh backup).`,
        "",
        "Next:",
        `  claudemesh invite            # a link for a teammate (single use, 7 days)`,
        `  claudemesh install           # let Claude Code sessions use the mesh`,
      ].join("\n"),
    );
  });
}
