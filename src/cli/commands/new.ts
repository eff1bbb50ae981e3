// claudemesh new <name>: keys are generated here; the broker learns only public keys.
import { createMesh } from "../../client/http.ts";
import { upsertMesh } from "../../client/local/config-file.ts";
import { afterFailure, forgetEnrolment, pendingEnrolment } from "../../client/local/pending-enrolments.ts";
import { makeMeshKey } from "../../client/mesh-session.ts";
import { processEnv } from "../../config/load.ts";
import { command } from "../context.ts";
import { displayNameFrom } from "../display-name.ts";
import { meshOption } from "../mesh-named.ts";
import { UsageError } from "../output.ts";
import { brokerFrom, checkText, FIELDS } from "../input-checks.ts";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_SLUG_LEN } from "../../protocol/limits.ts";

export const slugify = (name: string) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "mesh";

/** The broker refused the slug (conflict: slugs are unique per broker; the mesh id is fresh and
 *  random, so the slug is what clashed): say so, and how to choose another. */
function slugTaken(err: unknown, slug: string, base: string): unknown {
  if (!(err instanceof MeshError && err.code === "conflict")) return err;
  return new MeshError("conflict", `The slug "${slug}" is already taken on ${base}: slugs are unique per broker. Choose another with --slug, e.g. --slug ${otherSlug(slug)}.`, { cause: err });
}

/** A slug to suggest in place of `slug`, within the length a slug may have. */
const otherSlug = (slug: string) => `${slug.slice(0, MAX_SLUG_LEN - 2)}-2`;

export async function run(args: { name: string; broker?: string; slug?: string; "display-name"?: string; json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    // Checked before anything else: refused here, a name costs the broker's per-address
    // allowance of new meshes nothing.
    const name = checkText(args.name.trim(), "The mesh name", FIELDS.meshName);
    if (args.slug !== undefined) checkText(args.slug, "--slug", FIELDS.slug);
    const broker = args.broker ?? ctx.env.brokerUrl;
    if (!broker) throw new UsageError("No broker given. Pass --broker https://your-broker (or set CLAUDEMESH_BROKER_URL); run one with `claudemesh serve`.");
    const base = brokerFrom(broker, args.broker !== undefined ? "--broker" : "CLAUDEMESH_BROKER_URL", ctx.out.note);
    const timeoutMs = ctx.timeoutMs();
    const slug = args.slug ?? slugify(name);
    const clash = ctx.config().meshes.find((m) => m.slug === slug);
    // A state, not a typo (exit 5, as the broker's own "slug taken" and join's "already in"): the
    // same command is fine for someone without that mesh.
    if (clash) throw new MeshError("conflict", `You are already in a mesh called "${slug}" (on ${clash.brokerUrl}); two could not be told apart by --mesh. Choose another with --slug, e.g. --slug ${otherSlug(slug)}.`);
    const { name: displayName, guessed } = displayNameFrom(args["display-name"], processEnv());
    // Saved before the request: a retry after a lost answer creates the same mesh with the same
    // key, which the broker answers with that mesh (else the slug would be taken by an orphan).
    const request = `new ${base} ${slug}`;
    const enrolment = pendingEnrolment(ctx.env.configDir, request);
    const { keys, meshId } = enrolment;
    const { mesh, member } = await ctx.out
      .wait("creating the mesh", createMesh(base, keys, { meshId, slug, name, ownerDisplayName: displayName }, timeoutMs))
      .catch((err: unknown) => {
        throw slugTaken(afterFailure(ctx.env.configDir, request, enrolment, err), slug, base);
      });
    ctx.update((c) =>
      upsertMesh(c, {
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
    forgetEnrolment(ctx.env.configDir, request);
    // In several meshes now: `invite` alone would ask which one.
    const saved = ctx.config().meshes.find((m) => m.meshId === mesh.id);
    const invite = `claudemesh invite${saved ? meshOption(ctx.config(), saved) : ""}`;
    const column = Math.max(29, invite.length + 2); // the comments line up
    ctx.out.result({ mesh: { id: mesh.id, slug: mesh.slug, name: mesh.name, broker: base }, member: { id: member.memberId, pubkey: keys.publicKey, displayName, role: "owner" } }, () =>
      [
        `Created mesh "${mesh.name}" (${mesh.slug}) on ${base}. You are its owner, "${displayName}"${guessed ? " (guessed from this machine; pass --display-name to choose)" : ""}.`,
        `#general exists; your keys are in ${ctx.env.configDir} (back them up: claudemesh backup).`,
        "",
        "Next:",
        `  ${invite.padEnd(column)}# a link for a teammate (single use, 7 days)`,
        `  ${"claudemesh install".padEnd(column)}# let Claude Code sessions use the mesh`,
      ].join("\n"),
    );
  });
}
