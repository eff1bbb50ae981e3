// claudemesh set-broker <url>: the mesh's broker moved (a TLS proxy in front, another host or
// port), and this machine follows it. Nothing is saved until the new URL has shown that it serves
// this mesh (client/broker-move.ts); then the one config change, and what else the move asks of
// the user: invites whose links name the old URL, the other members' machines, other meshes on
// the same old broker. Claude Code sessions read the new URL at their next connection attempt.
import type { BrokerClient } from "../../client/client.ts";
import { moveToBroker, notThisMesh, otherMesh, removedThere } from "../../client/broker-move.ts";
import { brokerBase } from "../../client/broker-url.ts";
import { otherPublicUrl, publicUrlNote, setBrokerCommand } from "../../client/public-url-note.ts";
import { rollbackNote } from "../../client/rollback-note.ts";
import { shellWord } from "../../client/shell-word.ts";
import type { MeshEntry } from "../../client/local/config-file.ts";
import { MeshError } from "../../protocol/errors.ts";
import { listInvites } from "../../client/invite-pages.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { brokerFrom } from "../input-checks.ts";
import { meshArg, meshLabel, meshOption } from "../mesh-named.ts";
import { withFix } from "../output.ts";

/** How a running Claude Code session takes the new URL (mesh-link.ts reads it at each attempt;
 *  the reconnect backoff is capped at 30 s, client/reconnect.ts). */
const SESSIONS = "Claude Code sessions on this machine connect to it at their next connection attempt: within 30 s while the old address does not answer; one still connected through the old address stays there until that connection drops (restart it to switch at once).";

/** How long the check waits for each answer of the new address: its hello_ack (unless
 *  CLAUDEMESH_TIMEOUT says otherwise), then the open invites and the members, asked together (at
 *  most CLAUDEMESH_TIMEOUT). A broker answers each in milliseconds, a far one over TLS within a
 *  second or two (a link of 2 s round trips takes about 6 s to the hello_ack: docs/operations.md,
 *  "Slow and lossy links"; the refusal names CLAUDEMESH_TIMEOUT). What takes the connection and
 *  never answers (another server on that port, a proxy that does not pass WebSockets, a firewall
 *  that drops it) must not hold the check for the 15 s a command waits for its mesh's own broker,
 *  which may be slow for a while after a restart and is still the right one; here a failure saves
 *  nothing and is run again at once. */
const CHECK_WAIT_MS = 5_000;

/** A list the move asks for: null when it could not be had, `silent` when nothing answered. */
type Listed<T> = { value: T | null; silent: boolean };

/** A base the way two saved URLs are compared (as given when it cannot be read as one). */
const baseOf = (url: string) => {
  try {
    return brokerBase(url).base;
  } catch {
    return url;
  }
};

export async function run(args: CommonArgs & { url: string }): Promise<void> {
  await command(args, async (ctx) => {
    const base = brokerFrom(args.url, null, ctx.out.note);
    const mesh = ctx.mesh({ namedInResult: true });
    const cfg = ctx.config();
    const previous = mesh.brokerUrl;
    const opt = meshOption(cfg, mesh);
    const client = await probe(ctx, mesh, base);
    const ack = client.ack!;
    const changed = base !== baseOf(previous);
    // Asked before anything is saved, together, and never failing the move: what the user must be told.
    const listsMs = Math.min(CHECK_WAIT_MS, ctx.timeoutMs());
    const [invitesListed, membersListed] = await Promise.all([
      changed && ack.role !== "member" ? listed(openInvites(client, listsMs)) : { value: [], silent: false },
      changed ? listed(otherMembers(client, ack.memberId, listsMs)) : { value: 0, silent: false },
    ]);
    const invites = invitesListed.value;
    const members = membersListed.value;
    const unanswered = [...(invitesListed.silent ? ["open invites"] : []), ...(membersListed.silent ? ["members"] : [])];
    let restored = false;
    ctx.update(moveToBroker(mesh, base, ack, () => (restored = true)));
    if (restored) ctx.out.warn(rollbackNote(mesh.slug));
    const publicUrl = otherPublicUrl(ack.publicUrl, base);
    if (publicUrl) ctx.out.warn(publicUrlNote(mesh.slug, publicUrl, base, opt));
    if (unanswered.length) ctx.out.warn(`The broker at ${base} accepted the hello but did not list the ${unanswered.join(" nor the ")} within ${listsMs / 1000} s. A broker that answers nothing after the hello fails every command with a timeout: if that goes on, go back with ${setBrokerCommand(previous, opt)}`);
    const after = ctx.config();
    const others = after.meshes.filter((m) => m.meshId !== mesh.meshId && baseOf(m.brokerUrl) === baseOf(previous));
    const membersRun = setBrokerCommand(base, ` --mesh ${mesh.slug}`);
    const label = meshLabel(after, mesh);
    ctx.out.result(
      { mesh: { slug: mesh.slug, id: mesh.meshId }, broker: base, previous, changed, accepted: { displayName: ack.displayName, role: ack.role }, restoredBroker: restored, publicUrl, openInvites: invites, otherMembers: members, unanswered, membersRun, othersOnPrevious: others.map((m) => ({ slug: m.slug, id: m.meshId })) },
      () =>
        [
          changed
            ? `${label} now uses ${base} (was ${previous}): it answered as the broker of this mesh, with the owner key this machine trusts, and accepts you as ${ack.displayName} (${ack.role}).`
            : `${label} already uses ${base}, which answers as the broker of this mesh and accepts you as ${ack.displayName} (${ack.role}); nothing changed.`,
          ...(changed ? [SESSIONS, ...inviteLines(invites, previous, opt)] : []),
          ...(changed && members !== 0 ? [`${members === null ? "Other members'" : `The ${members} other member${members > 1 ? "s'" : "'s"}`} machines keep the old URL until each runs: ${membersRun}`] : []),
          ...(changed && others.length ? [`Your mesh${others.length > 1 ? "es" : ""} ${others.map((m) => m.slug).join(", ")} also use${others.length > 1 ? "" : "s"} ${previous}: ${others.map((m) => setBrokerCommand(base, ` --mesh ${meshArg(after, m)}`)).join("; ")}`] : []),
        ].join("\n"),
    );
  });
}

/** A signed hello at `base` as this member, checked to answer for this mesh; refusals say that
 *  nothing was saved. */
async function probe(ctx: Ctx, mesh: MeshEntry, base: string): Promise<BrokerClient> {
  let client: BrokerClient;
  // CLAUDEMESH_TIMEOUT set is the user's word that the link is slow (or that they want it short).
  const waitMs = ctx.env.timeout === null ? CHECK_WAIT_MS : ctx.timeoutMs();
  try {
    client = await ctx.connect({ ...mesh, brokerUrl: base }, { probe: true, handshakeTimeoutMs: waitMs });
  } catch (err) {
    // An unknown mesh and an unknown key are one refusal at the hello (protocol §2.3, check 4).
    if (err instanceof MeshError && err.code === "unauthorized") throw notThisMesh(mesh, base, "it does not know your key in this mesh (another broker, or a database without this mesh or from before you joined)", mesh.brokerUrl, err);
    // A key refused as removed there is that URL's word until it is accepted: nothing recorded.
    if (err instanceof MeshError && err.code === "revoked") {
      const { err: said, fix } = removedThere(mesh, base, err);
      throw withFix(said, fix);
    }
    // Nothing usable there: the refusal names the URL, the fix what stays. (A refusal with a fix
    // of its own, a clock skew or a removal, keeps it.) A connect's only timeout is the hello_ack's:
    // nothing there answered as a broker, or it is slower than the wait.
    const kept = `${mesh.slug} still uses ${mesh.brokerUrl}`;
    if (err instanceof MeshError && err.code === "timeout") {
      const longer = `CLAUDEMESH_TIMEOUT=${Math.max(30, Math.ceil((2 * waitMs) / 1000))}s ${setBrokerCommand(base, meshOption(ctx.config(), mesh))}`;
      throw withFix(err, `nothing there answered as a broker (a firewall that drops the connection, something else on that port, a proxy that does not pass WebSockets, or a broker that is stuck): check the URL (the one the broker's operator gives: its publicUrl); if the broker is only slow, give it longer: ${longer}. Nothing was saved: ${kept}`);
    }
    if (err instanceof MeshError && err.code === "unavailable") throw withFix(err, `check the URL (the one the broker's operator gives: its publicUrl); nothing was saved: ${kept}`);
    throw err;
  }
  const why = otherMesh(mesh, client.ack!);
  if (why) throw notThisMesh(mesh, base, why, mesh.brokerUrl);
  return client;
}

/** What `ask` gave; a failure is no value (the move goes on, and says so), and `silent` when it
 *  was no answer in time. */
async function listed<T>(ask: Promise<T>): Promise<Listed<T>> {
  try {
    return { value: await ask, silent: false };
  } catch (err) {
    return { value: null, silent: err instanceof MeshError && err.code === "timeout" };
  }
}

/** The ids of the mesh's invites that can still be used (owner or admin): their links name the
 *  old URL. Rejects when the broker does not list them within `timeoutMs`. */
async function openInvites(client: BrokerClient, timeoutMs: number): Promise<string[]> {
  return (await listInvites(client, { open: true }, Date.now() / 1000, timeoutMs)).map((i) => i.inviteId);
}

/** How many members besides `memberId` the mesh has (not removed, not left): each of their
 *  machines keeps the old URL. Rejects when the broker does not list them within `timeoutMs`. */
async function otherMembers(client: BrokerClient, memberId: string, timeoutMs: number): Promise<number> {
  const { members } = await client.request("member_list", {}, timeoutMs);
  return members.filter((m) => m.revokedAt === null && m.memberId !== memberId).length;
}

/** What to do about invites whose links name the old URL (their ids are the broker's words: the
 *  command quotes them for the shell). */
function inviteLines(ids: readonly string[] | null, previous: string, opt: string): string[] {
  if (ids === null) return [`The open invites could not be listed; links made before name ${previous}: claudemesh invite list${opt} shows them, to revoke and make again.`];
  if (ids.length === 0) return [];
  const first = ids[0]!;
  return [
    `${ids.length} open invite${ids.length > 1 ? "s" : ""} (${ids.join(", ")}) name${ids.length > 1 ? "" : "s"} ${previous} in ${ids.length > 1 ? "their links" : "its link"}: a teammate who joins with one goes there, which works only while that address reaches this broker. Revoke ${ids.length > 1 ? "them" : "it"} and make new ones, which name the new URL: claudemesh invite revoke ${shellWord(first)}${opt}${ids.length > 1 ? " (and the others)" : ""}; claudemesh invite${opt}`,
  ];
}
