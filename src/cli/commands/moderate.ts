// claudemesh kick|ban <peer> and rekey: removing a member rotates the mesh key so that nothing sent
// afterwards can be read with the keys the removed member holds. The new key goes to every
// remaining member end to end (a `keys` message sealed to each member key); only the owner's keys
// are accepted by members, so an admin's removal asks the owner to rekey.
import { MeshError } from "../../protocol/errors.ts";
import { MAX_KEY_EPOCH } from "../../protocol/limits.ts";
import { changeMesh } from "../../client/local/config-file.ts";
import { keysBody, makeMeshKey } from "../../client/mesh-session.ts";
import { NO_REMOVALS, vouchedMembers, type Removals } from "../../client/admission.ts";
import type { ListedMember, PeerInfo } from "../../protocol/results.ts";
import type { BrokerClient } from "../../client/client.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { UsageError } from "../output.ts";
import { refuseSelf, resolve, sessionFor } from "../mesh-io.ts";
import { checkText, FIELDS } from "../input-checks.ts";
import { peerLabel } from "../../client/resolve.ts";
import { formerMember } from "../../client/name-hints.ts";
import { leftBySelf } from "../../protocol/results.ts";
import { listInvites } from "../../client/invite-pages.ts";
import { meshOption } from "../mesh-named.ts";

/** New epoch, sent to every active member but this one that the owner can vouch for (a member
 *  list is the broker's word: admission.ts), then recorded at the broker. */
async function rotate(ctx: Ctx, client: BrokerClient, reason: string, listed?: ListedMember[]): Promise<{ epoch: number; sentTo: number; skipped: string[]; heldBack: ListedMember[] }> {
  const { meshId, role } = ctx.mesh();
  if (role !== "owner") throw new MeshError("forbidden", "Only the mesh owner can rotate keys (members accept keys from the owner only).");
  const members = listed ?? (await client.request("member_list", {})).members;
  const brokerEpoch = client.ack?.mesh.keyEpoch ?? 0;
  let epoch = 0;
  // Save first: if sending fails halfway, the owner still holds the key and can run rekey again.
  // Only the new key is added to the entry as it is on disk now, so that a removal or a key another
  // kick or rekey saved meanwhile is kept, and the epoch is counted above every one it holds.
  ctx.update(
    changeMesh(meshId, (onDisk) => {
      // Above the broker's epoch too: a config restored from an older backup must not reuse an
      // epoch the members already hold (they would keep their key for it, and key_rotate would
      // refuse it). Checked before anything is saved or sent: a broker reporting an absurd epoch
      // must not leave the owner and every member with a newest key no post can be sealed under.
      const held = Math.max(...onDisk.meshKeys.map((k) => k.epoch), -1);
      epoch = Math.max(held, brokerEpoch) + 1;
      if (epoch > MAX_KEY_EPOCH) throw new MeshError("invalid_argument", `The broker reports mesh key epoch ${brokerEpoch}, beyond any real number of rotations; refusing to rotate (this machine's newest key is epoch ${held}).`);
      return { ...onDisk, meshKeys: [...onDisk.meshKeys, makeMeshKey(epoch)] };
    }),
  );
  // The entry as saved: the keys to send, and the removals recorded by any command so far.
  const mesh = ctx.config().meshes.find((m) => m.meshId === meshId);
  if (!mesh) throw new MeshError("not_found", "The mesh was removed from this machine's config meanwhile (claudemesh leave in another terminal?); no new key was saved or sent.");
  const session = sessionFor(ctx, mesh);
  const { vouched, unverified } = vouchedMembers(mesh.meshId, mesh.ownerPubkey, members, mesh.removed);
  const recipients = [...vouched.values()].filter((m) => m.pubkey !== mesh.publicKey);
  session.trust(recipients.map((m) => m.pubkey));
  for (const m of recipients) await session.send(client, m.pubkey, keysBody(mesh.meshKeys), { kind: "keys", priority: "now" });
  await client.request("key_rotate", { epoch, reason });
  await sendToSelf(ctx, client, session, mesh.publicKey, keysBody(mesh.meshKeys));
  // Active at the broker, yet neither vouched for nor unverified: this machine's record of removals
  // holds them back (a kick the broker never carried out, or an enrolment through a removed link).
  const counted = new Set([...vouched.keys(), ...unverified.map((m) => m.pubkey)]);
  const heldBack = members.filter((m) => m.revokedAt === null && !counted.has(m.pubkey));
  return { epoch, sentTo: recipients.length, skipped: unverified.map((m) => m.displayName), heldBack };
}

/** The new keys also go to the owner's own member mailbox: another machine holding this owner key
 *  (restored from a backup) has no one else to get them from, since members accept keys only from
 *  the owner. Its client takes a `keys` message from the owner key as from any owner; this machine
 *  reads its own copy later as keys it already holds. After key_rotate, and never fatal: the
 *  rotation is done, and this copy only helps another machine. */
async function sendToSelf(ctx: Ctx, client: BrokerClient, session: ReturnType<typeof sessionFor>, self: string, body: string): Promise<void> {
  try {
    await session.send(client, self, body, { kind: "keys", priority: "now" });
  } catch (err) {
    ctx.out.warn(`The new key was not queued for this owner key's other machines, if any (${(err as Error).message}); run claudemesh rekey there if one cannot post.`);
  }
}

/** Removals built field by field. */
const eachField = (f: (field: keyof Removals) => string[]): Removals => ({ keys: f("keys"), invites: f("invites"), kept: f("kept") });

/** Writes the owner's own record of a removal before asking the broker for it, so that no later
 *  rotation or key request can reach the removed key, whatever the broker's member list says: the
 *  key, the invite it joined with (its link may still enroll a new key), and everyone vouched for
 *  now (they keep their place if they share that invite or were invited by a removed admin).
 *  Written first so that a crash between the broker's removal and this write cannot leave the
 *  owner vouching for a removed key. Both the record and its undo change only `removed`, on the
 *  entry as it is on disk (another kick's record meanwhile is kept). Returns the undo, for when
 *  the broker does not remove them: it takes back only what this call added. */
function recordRemoval(ctx: Ctx, members: readonly ListedMember[], memberId: string, memberPubkey: string): () => void {
  const { meshId, ownerPubkey } = ctx.mesh();
  const invite = members.find((m) => m.memberId === memberId)?.admission?.inviteId;
  let added: Removals = NO_REMOVALS;
  ctx.update(
    changeMesh(meshId, (onDisk) => {
      const before = onDisk.removed ?? NO_REMOVALS;
      const { vouched } = vouchedMembers(meshId, ownerPubkey, members, before);
      const wanted: Removals = { keys: [memberPubkey], invites: invite ? [invite] : [], kept: [...vouched.keys()].filter((k) => k !== memberPubkey) };
      added = eachField((f) => wanted[f].filter((x) => !before[f].includes(x)));
      return { ...onDisk, removed: eachField((f) => [...before[f], ...added[f]]) };
    }),
  );
  return () =>
    ctx.update(
      changeMesh(meshId, ({ removed, ...rest }) => {
        if (!removed) return null;
        const left = eachField((f) => removed[f].filter((x) => !added[f].includes(x)));
        return left.keys.length + left.invites.length + left.kept.length === 0 ? rest : { ...rest, removed: left };
      }),
    );
}

/** What the owner is told about members that did not get the new key. */
export const skippedLine = (skipped: readonly string[]): string[] =>
  skipped.length === 0
    ? []
    : [
        `Not sent to ${skipped.length} member(s) whose enrolment this machine cannot check (${skipped.join(", ")}): joined before invites carried the evidence, or listed by the broker without it.`,
        "Invite them again (claudemesh invite) if they belong in the mesh; until then they cannot read what is sent from now on.",
      ];

/** What the owner is told about active members that its own record of removals holds back. */
export const heldBackLine = (heldBack: readonly ListedMember[]): string[] =>
  heldBack.length === 0
    ? []
    : [
        `Not sent to ${heldBack.length} member(s) the broker lists as active but this machine recorded as removed, or as enrolled through the invite of a member you removed (${heldBack.map((m) => m.displayName).join(", ")}).`,
        "If you removed them and the broker did not, run the kick again; if they belong in the mesh, invite them again.",
      ];

/** Rethrows `err` (no peer matched `input`), unless `input` names a former member: then says that
 *  member already left or was removed, with the broker's code for removing one twice (conflict). */
async function refuseIfRemoved(client: BrokerClient, input: string, err: unknown): Promise<never> {
  if (!(err instanceof MeshError && err.code === "unknown_recipient")) throw err;
  const gone = formerMember((await client.request("member_list", {})).members, input);
  if (!gone) throw err;
  const how = leftBySelf(gone) ? "left this mesh" : "was already removed from this mesh";
  throw new MeshError("conflict", `${peerLabel(gone)} ${how} (${new Date(gone.revokedAt!).toISOString()}); nothing to do.`);
}

/** A session named where a member is meant: says whose session it is and what to run instead
 *  (by key prefix: a name is another peer's text, not safe to hand to a shell). */
async function refuseSession(client: BrokerClient, session: PeerInfo, ban: boolean): Promise<never> {
  const member = (await client.request("member_list", {})).members.find((m) => m.pubkey === session.memberPubkey);
  const verb = ban ? "ban" : "kick";
  throw new UsageError(
    `${peerLabel(session)} is one session of the member ${member ? peerLabel(member) : session.memberPubkey.slice(0, 12)}: ${verb} removes a member with all of their sessions, for good (their key can never connect again). Nothing was changed.`,
    { fix: `claudemesh ${verb} ${session.memberPubkey.slice(0, 12)} removes the member; claudemesh block ${session.pubkey.slice(0, 12)} stops only this session from writing to you` },
  );
}

async function remove(args: CommonArgs & { peer: string; reason?: string }, ban: boolean): Promise<void> {
  await command(args, async (ctx) => {
    // Before connecting: the broker would refuse the frame only after the owner recorded the removal.
    if (args.reason !== undefined) checkText(args.reason, "--reason", FIELDS.reason);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const { peer } = await resolve(ctx, mesh, client, args.peer).catch((err: unknown) => refuseIfRemoved(client, args.peer, err));
    if (!peer) throw new MeshError("invalid_argument", "Name a member to remove.");
    // Removal is of a member key, with every session it signed: named by one session, it would
    // remove the member for good while every line printed named only that session.
    if (peer.kind === "session") await refuseSession(client, peer, ban);
    // Before anything is recorded: the broker refuses the owner's removal, and an admin leaves.
    refuseSelf(peer, mesh.publicKey, mesh.role === "owner" ? "the mesh owner cannot be removed" : "to leave the mesh, run `claudemesh leave`");
    // The owner records the removal itself before asking the broker, and rotates with the same
    // member list (the removed key is refused by the record, whatever the list says).
    const members = mesh.role === "owner" ? (await client.request("member_list", {})).members : null;
    const undo = members ? recordRemoval(ctx, members, peer.memberId, peer.memberPubkey) : null;
    // Refused, or no answer: the member is not known to be removed, so the record is taken back
    // (a broker that lies could as well refuse; the record guards what it reports as done).
    const r = await client.request("member_revoke", { memberId: peer.memberId, ban, ...(args.reason ? { reason: args.reason } : {}) }).catch((err: unknown) => {
      undo?.();
      throw err;
    });
    const rotated = members ? await rotate(ctx, client, `${ban ? "banned" : "kicked"} ${peer.displayName}`, members) : null;
    const heldBack = rotated?.heldBack.filter((m) => m.pubkey !== peer.memberPubkey) ?? [];
    // Removal is per key: someone holding another open link can enrol again with a new one.
    const open = await listInvites(client, { open: true }).then((invites) => invites.length, () => null);
    const opt = meshOption(ctx.config(), mesh); // the invite commands below are refused without it in several meshes
    ctx.out.result({ ...r, name: peer.displayName, keyEpoch: rotated?.epoch ?? null, openInvites: open }, () =>
      [
        `${ban ? "Banned" : "Removed"} ${peerLabel(peer)}; ${r.disconnected} connection(s) closed.`,
        ...(r.invitesRevoked.length ? [`Revoked with them: ${r.invitesRevoked.length === 1 ? "invite" : "invites"} ${r.invitesRevoked.join(", ")} (the one they joined through, or ones they made), which could let them back in; \`claudemesh invite${opt}\` makes a new one for anyone else.`] : []),
        rotated ? `Mesh key rotated to epoch ${rotated.epoch} and sent to ${rotated.sentTo} member(s); ${peer.displayName} cannot read anything sent from now on.` : "Ask the owner to run `claudemesh rekey` so the removed member cannot read new messages.",
        ...skippedLine(rotated?.skipped ?? []),
        ...heldBackLine(heldBack),
      ].join("\n"),
    );
    if (open) ctx.out.note(`${open === 1 ? "1 invite is" : `${open} invites are`} still open, and a removed member holding one can join again under a new key: claudemesh invite list${opt} shows them, claudemesh invite revoke${opt} <id> closes one.`);
  });
}

export const kick = (args: CommonArgs & { peer: string; reason?: string }) => remove(args, false);
export const ban = (args: CommonArgs & { peer: string; reason?: string }) => remove(args, true);

export async function rekey(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const client = await ctx.connect(ctx.mesh());
    const { heldBack, ...r } = await rotate(ctx, client, "manual rekey");
    ctx.out.result({ ...r, heldBack: heldBack.map((m) => m.displayName) }, () => [`Mesh key rotated to epoch ${r.epoch} and sent to ${r.sentTo} member(s).`, ...skippedLine(r.skipped), ...heldBackLine(heldBack)].join("\n"));
  });
}
