// claudemesh invite [list|revoke]: invites are signed here with the member key; the link carries a
// secret the broker never sees, which seals the current mesh keys for whoever claims it.
import { randomId } from "../../crypto/hash.ts";
import { ID_RE } from "../../crypto/fields.ts";
import { parseDurationMs } from "../../config/load.ts";
import { buildInvite } from "../../client/invite-build.ts";
import { command, savedBroker, type CommonArgs } from "../context.ts";
import { isLoopbackHost } from "../../client/broker-url.ts";
import { UsageError } from "../output.ts";
import { wholeNumber } from "../number-arg.ts";
import { MAX_INVITE_USES } from "../../protocol/limits.ts";
import { inviteState } from "../../protocol/results.ts";
import { INVITE_ROLES } from "../../protocol/choices.ts";
import { oneOf } from "../choice-arg.ts";
import { meshLabel, meshOption } from "../mesh-named.ts";
import { MeshError } from "../../protocol/errors.ts";
import { findInvite, listInvites } from "../../client/invite-pages.ts";

type CreateArgs = CommonArgs & { role?: string; "max-uses"?: string; expires?: string };

export async function create(args: CreateArgs): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const role = oneOf(args.role ?? INVITE_ROLES[0], INVITE_ROLES, "--role");
    const maxUses = wholeNumber(args["max-uses"] ?? "1");
    if (maxUses === null || maxUses < 1 || maxUses > MAX_INVITE_USES) throw new UsageError(`--max-uses must be a whole number from 1 to ${MAX_INVITE_USES}.`);
    const lifetime = parseDurationMs(args.expires ?? "7d");
    if (lifetime === null || lifetime < 60_000 || lifetime > 365 * 86_400_000) throw new UsageError("--expires must be a duration from 1m to 365d, like 30m, 12h or 7d.");
    const inviteId = randomId();
    const expiresAt = Math.floor((Date.now() + lifetime) / 1000);
    const links = buildInvite(mesh, { inviteId, role, maxUses, expiresAt });
    const client = await ctx.connect(mesh);
    await client.request("invite_create", links.frame).catch((err: unknown) => {
      throw withMeshOption(err, meshOption(ctx.config(), mesh));
    });
    const broker = savedBroker(ctx.config(), mesh);
    // The link names the broker as this mesh was created with it; a loopback address there fails
    // on the teammate's machine as a refused connection to their own, which says nothing of why.
    if (isLoopbackHost(new URL(broker).hostname)) ctx.out.note(`Note: this link names the broker at ${broker}, which only this machine reaches: a teammate on another machine cannot join with it.`);
    ctx.out.result({ inviteId, role, maxUses, expiresAt, link: links.link }, () =>
      [
        links.link,
        "",
        `Invite ${inviteId}: ${role}, ${maxUses} use${maxUses === 1 ? "" : "s"}, expires ${new Date(expiresAt * 1000).toISOString()}.`,
        "Send it over a channel you trust; whoever holds it can join until it is used up. Join with: claudemesh join -   (then paste the link and press Enter: it stays out of the shell history and the process list)",
      ].join("\n"),
    );
  });
}

/** The open invites, or with --all every invite the mesh had, oldest first: read page after page
 *  (protocol §4.3.23), however long the mesh's history. */
export async function list(args: CommonArgs & { all?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const all = args.all === true;
    const client = await ctx.connect(mesh);
    const now = Date.now() / 1000;
    const invites = await listInvites(client, { open: !all }, now);
    const none = all ? "No invites." : `No open invites: claudemesh invite list --all${meshOption(ctx.config(), mesh)} lists the closed ones too.`;
    ctx.out.result({ invites, all }, () =>
      invites.length === 0
        ? none
        : invites
            .map((i) => {
              const state = inviteState(i, now) === "active" ? `${i.maxUses - i.usedCount} use(s) left` : inviteState(i, now);
              return `${i.inviteId}  ${i.role.padEnd(6)}  ${state.padEnd(14)}  expires ${new Date(i.expiresAt * 1000).toISOString()}`;
            })
            .join("\n"),
    );
  });
}

export async function revoke(args: CommonArgs & { id: string }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    // In several meshes the list command needs the mesh too, or it is refused in turn.
    const listing = `\`claudemesh invite list${meshOption(ctx.config(), mesh)}\``;
    if (!ID_RE.test(args.id)) throw new UsageError(`"${args.id}" is not an invite id (8–64 of A-Z a-z 0-9 _ -); ${listing} shows them.`);
    const client = await ctx.connect(mesh);
    // A second revoke gets the same answer as the first (protocol §4.3.24): the invite's record
    // tells them apart, read alone (§4.3.23), not with the mesh's whole history.
    const found = await findInvite(client, args.id);
    // Said here rather than by the broker, whose refusal cannot name the mesh or the --mesh it takes.
    if (!found) throw new MeshError("not_found", `No invite ${args.id} in ${ctx.config().meshes.length > 1 ? meshLabel(ctx.config(), mesh) : "this mesh"}. ${listing} lists the open ones.`);
    const revokedAt = found.revokedAt;
    if (revokedAt) {
      ctx.out.result({ inviteId: args.id, revoked: true, alreadyRevoked: true }, () => `Invite ${args.id} was already revoked (${new Date(revokedAt).toISOString()}); nothing changed.`);
      return;
    }
    const r = await client.request("invite_revoke", { inviteId: args.id });
    ctx.out.result({ ...r, alreadyRevoked: false }, () => `Revoked invite ${r.inviteId}; nobody can join with it any more.`);
  });
}

/** The broker's refusal of one invite too many names the commands that make room (`claudemesh
 *  invite list`, `… invite revoke ID`, `… invite --max-uses N`) without a mesh, which it cannot
 *  name; in several meshes each needs the --mesh this one was made with, or is refused in turn. */
function withMeshOption(err: unknown, option: string): unknown {
  if (option === "" || !(err instanceof MeshError) || err.code !== "invalid_argument") return err;
  const message = err.message.replace(/claudemesh invite( list| revoke ID| --max-uses N)?(?=[),.;\s]|$)/g, (c) => c + option);
  return message === err.message ? err : new MeshError(err.code, message, { cause: err });
}

