// claudemesh join <link>: verify the invite before contacting anyone, make a keypair, enrol, open
// the sealed mesh keys with the link's secret, save, and show who else is here.
// The link holds the invite secret, and a command-line argument is readable by every local user
// (/proc/<pid>/cmdline, `ps`) while the command runs; `claudemesh join -` (or no link at all)
// reads it from the first line of stdin instead, which is what to use on a shared machine.
import { inviteSigningKeypair, openKeysBlob } from "../../crypto/invite-secret.ts";
import { claimInvite, httpBase } from "../../client/http.ts";
import { MalformedInvite, parseInvite } from "../../client/invite-link.ts";
import { upsertMesh, type MeshKey } from "../../client/local/config-file.ts";
import { afterFailure, forgetEnrolment, pendingEnrolment } from "../../client/local/pending-enrolments.ts";
import { meshKeyList } from "../../client/mesh-key-list.ts";
import { MeshError } from "../../protocol/errors.ts";
import type { MemberInfo } from "../../protocol/results.ts";
import { processEnv } from "../../config/load.ts";
import { meshArg, meshOption } from "../mesh-named.ts";
import { command } from "../context.ts";
import { displayNameFrom } from "../display-name.ts";
import { sessionFor } from "../mesh-io.ts";
import { UsageError, withFix } from "../output.ts";
import { readStdin } from "../stdin.ts";
import { lookAlikeMarks, looksAlike, mixedScripts, nameFold, readsAsSessionOf, unusualCodePoints } from "../../client/name-match.ts";
import { andList } from "../choice-arg.ts";
import { quotedName } from "../../client/untrusted-text.ts";

/** Longest line read from stdin (an invite link is well under 1 KiB). */
const MAX_LINK_BYTES = 16 * 1024;

/** The first line of stdin: piped (`claudemesh join - < invite.txt`) or pasted at a prompt. */
async function readLinkFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Paste the invite link and press Enter: ");
  const { text, tooLong } = await readStdin({ maxBytes: MAX_LINK_BYTES, firstLine: true });
  if (tooLong) throw new UsageError("The first line of stdin is too long to be an invite link.");
  const link = text.trim();
  if (!link) throw new UsageError("No invite link on stdin. Pipe it in: claudemesh join - < invite.txt");
  return link;
}

/** What to do about a link that is no invite at all. */
const LINK_FIX = "copy the whole link again (one line, starting ic://join/), or ask the inviter for a new one (claudemesh invite)";

/** The invite, checked before anyone is contacted. A link that does not decode or lacks a field is
 *  not an invite at all: a usage error (exit 2). One that decodes but whose signature fails was
 *  altered, and one past its date expired: both stay refusals (exit 5). */
function inviteFrom(link: string): ReturnType<typeof parseInvite> {
  try {
    return parseInvite(link);
  } catch (err) {
    // The next step is about the link, not the command line: --help cannot repair a link.
    if (err instanceof MalformedInvite) throw new UsageError(err.message, { cause: err, fix: LINK_FIX });
    throw err;
  }
}

function parseKeys(json: string | null): MeshKey[] {
  try {
    const keys = meshKeyList((JSON.parse(json ?? "") as { keys?: unknown }).keys);
    if (keys) return keys;
  } catch {}
  throw new MeshError("bad_invite", "The mesh keys sealed with this invite cannot be opened with its link. Ask for a new invite.");
}

type Mesh = { name: string; slug: string };

/** There is no rename command: a new name takes a new enrolment. */
const renameHint = (leave: string) => `To take another name, leave (claudemesh leave ${leave} --yes), ask for a new invite and join again with --display-name <another name>.`;

/** What tells `name` apart from a look-alike, as the end of a parenthesis: the code points outside
 *  ASCII and the ASCII look-alikes it has (`, has U+0430 "1"`), and the scripts it mixes. */
function marks(name: string): string {
  const has = lookAlikeMarks(name);
  const scripts = mixedScripts(name);
  return `${has ? `, has ${has}` : ""}${scripts.length ? `, mixes ${andList(scripts)} letters` : ""}`;
}

/** Each member's role and key; `marked`, with what tells look-alike names apart (marks). */
const who = (members: readonly MemberInfo[], marked = false) => members.map((m) => `${m.role}, key ${m.pubkey.slice(0, 12)}${marked ? marks(m.displayName) : ""}`).join("; ");

/** Names are not identities, so a clash is allowed; but `send <name>` then refuses as ambiguous,
 *  for everyone. `clash`: the other active members whose name is `name` or looks like it
 *  (name-match.ts, as `send` matches names); the broker's claim answer lists every active member. */
function clashWarning(clash: readonly MemberInfo[], mesh: Mesh, name: string, pubkey: string, leave: string): string {
  const same = clash.every((m) => nameFold(m.displayName) === nameFold(name));
  const theirs = quotedName(clash[0]!.displayName, 80);
  const n = clash.length;
  const already = same
    ? n === 1 ? `another member of "${mesh.name}" is already called ${theirs}` : `${n} other members of "${mesh.name}" are already called "${name}"`
    : n === 1 ? `another member of "${mesh.name}" has a name that looks like "${name}" but is written with other characters, ${theirs}` : `${n} other members of "${mesh.name}" have names that look like "${name}"`;
  const mine = same ? "" : marks(name);
  return `${already} (${who(clash, !same)}). \`claudemesh send ${name}\` is now ambiguous: peers must tell you apart by key prefix (yours: ${pubkey.slice(0, 12)}${mine}). ${renameHint(leave)}`;
}

/** Claude Code sessions are named `<member>/<project>`: a member who takes the name "me/app" beside
 *  a member "me" (or "me" beside "me/app") makes every `send me/app` ambiguous while a session of
 *  me's is called so. Warned of, not refused: the name was claimed with the invite already, and
 *  the resolver refuses the ambiguous name rather than guess (docs/decisions.md, session 33). */
function sessionNameWarning(members: readonly MemberInfo[], name: string, pubkey: string, leave: string): string | null {
  const parents = members.filter((m) => readsAsSessionOf(name, m.displayName));
  const children = members.filter((m) => readsAsSessionOf(m.displayName, name));
  if (!parents.length && !children.length) return null;
  const said = [
    parents.length ? `your name "${name}" reads as the name of a Claude Code session of ${parents.map((m) => quotedName(m.displayName, 80)).join(", ")} (${who(parents)}), whose sessions are called "<their name>/<project>"` : "",
    children.length ? `${children.map((m) => quotedName(m.displayName, 80)).join(", ")} (${who(children)}) read${children.length === 1 ? "s" : ""} as the name of one of your Claude Code sessions, which are called "${name}/<project>"` : "",
  ].filter(Boolean);
  return `${said.join("; and ")}. A \`claudemesh send\` to such a name is ambiguous while both exist: peers must tell you apart by key prefix (yours: ${pubkey.slice(0, 12)}). ${renameHint(leave)}`;
}

/** A name whose letters come from two scripts that pass for each other's (Latin with one Cyrillic
 *  letter) is what a look-alike is made of, or a keyboard layout's accident: warned of when it looks
 *  like no member's yet (clashWarning marks it otherwise). Warned, not refused, as a clash is. */
function scriptWarning(name: string, pubkey: string, leave: string): string | null {
  const scripts = mixedScripts(name);
  if (!scripts.length) return null;
  const has = unusualCodePoints(name);
  return `your name "${name}" mixes ${andList(scripts)} letters${has ? ` (has ${has})` : ""}, as a name made to pass for another's does: peers cannot see which letters are which, so they may take you for anyone whose name looks like it, and tell you apart only by key prefix (yours: ${pubkey.slice(0, 12)}). ${renameHint(leave)}`;
}

/** The warnings a new member's name earns among the other active `members` (none: []). `leave`:
 *  how `claudemesh leave` names the mesh (its id when another joined mesh has its slug: meshArg). */
function nameWarnings(all: readonly MemberInfo[], self: string, mesh: Mesh, name: string, pubkey: string, leave: string): string[] {
  const members = all.filter((m) => m.memberId !== self && m.revokedAt === null);
  const clash = members.filter((m) => looksAlike(m.displayName, name));
  return [clash.length ? clashWarning(clash, mesh, name, pubkey, leave) : scriptWarning(name, pubkey, leave), sessionNameWarning(members, name, pubkey, leave)].filter((w) => w !== null);
}

/** `failed` (what afterFailure made of `err`), with how long to wait when the broker refused the
 *  claim for its address's claim allowance (429 rate_limited, with Retry-After). */
function claimWaitFix(err: unknown, failed: unknown): unknown {
  if (!(err instanceof MeshError) || err.code !== "rate_limited" || !(failed instanceof Error)) return failed;
  const wait = err.retryAfterMs === undefined ? "a minute" : `${Math.ceil(err.retryAfterMs / 1000)} s`;
  return withFix(failed, `wait ${wait}, then run the same command again (the refused claim used up nothing of the invite): the broker takes only so many joins from one address, and behind a shared NAT or proxy the others' joins count too`);
}

export async function run(args: { link?: string; "display-name"?: string; name?: string; json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const [flag, older] = [args["display-name"], args.name];
    if (flag !== undefined && older !== undefined && flag !== older) throw new UsageError(`--display-name "${flag}" and --name "${older}" both give your name (--name is its older spelling); give only one.`);
    const { name: displayName, guessed } = displayNameFrom(flag ?? older, processEnv());
    const invite = inviteFrom(args.link === undefined || args.link === "-" ? await readLinkFromStdin() : args.link);
    const joined = ctx.config().meshes.find((m) => m.meshId === invite.mesh);
    if (joined) throw new MeshError("conflict", `You are already in "${invite.slug}". Leave it first (claudemesh leave ${meshArg(ctx.config(), joined)} --yes) to join with a new identity.`);
    const timeoutMs = ctx.timeoutMs();
    // Before a key is saved: a broker URL refused here would leave one no request ever carried.
    const base = httpBase(invite.broker);
    // Saved before the claim: a retry after a lost answer claims with the same key.
    const request = `join ${invite.invite}`;
    const enrolment = pendingEnrolment(ctx.env.configDir, request);
    const { keys } = enrolment;
    const r = await ctx.out
      .wait("enrolling", claimInvite(base, { inviteId: invite.invite, meshId: invite.mesh, inviteKeys: inviteSigningKeypair(invite.secret), joiner: keys, displayName }, timeoutMs))
      .catch((err: unknown) => {
        throw claimWaitFix(err, afterFailure(ctx.env.configDir, request, enrolment, err));
      });
    const issuer = r.members.find((m) => m.pubkey === invite.issuer);
    if (r.mesh.id !== invite.mesh || !issuer || (issuer.role !== "owner" && issuer.role !== "admin")) {
      throw new MeshError("bad_invite", "The broker's answer does not match the invite (mesh or issuer). Do not trust this broker; ask the inviter.");
    }
    // The owner's key decides whose `keys` messages are believed: from the link when it names one,
    // since a broker that named another key here could hand out mesh keys of its choosing.
    if (invite.owner !== undefined && r.mesh.ownerPubkey !== invite.owner) {
      throw new MeshError("bad_invite", "The broker names a different mesh owner than the invite does. Do not trust this broker; ask the inviter.");
    }
    // No sealed keys: the invite carried none, or this answers again a claim that used its last use
    // (the broker then has deleted them). The owner is asked for the keys below, as for stale ones.
    const meshKeys = r.keysBlob === null ? [] : parseKeys(openKeysBlob(r.keysBlob, invite.secret, invite.invite));
    const entry = {
      meshId: r.mesh.id,
      slug: r.mesh.slug,
      name: r.mesh.name,
      brokerUrl: base,
      memberId: r.member.memberId,
      displayName,
      role: r.member.role,
      ownerPubkey: r.mesh.ownerPubkey,
      publicKey: keys.publicKey,
      secretKey: keys.secretKey,
      meshKeys,
      joinedAt: Date.now(),
    };
    const sameSlug = ctx.config().meshes.find((m) => m.slug === entry.slug && m.meshId !== entry.meshId);
    if (sameSlug) ctx.out.warn(`You were already in another mesh called "${entry.slug}" (on ${sameSlug.brokerUrl}): choose between them by id, --mesh ${entry.meshId} for this one and --mesh ${sameSlug.meshId} for the other.`);
    ctx.update((c) => upsertMesh(c, entry));
    forgetEnrolment(ctx.env.configDir, request);
    const stale = meshKeys.length === 0 || Math.max(...meshKeys.map((k) => k.epoch)) < r.mesh.keyEpoch;
    // The invite predates a key rotation: ask the owner for the current keys (they arrive as a
    // message, applied by `inbox` or the MCP server whenever the owner's client answers). Noted,
    // so that this machine's next commands do not ask again while the request waits for the owner.
    const asked = stale && (await sessionFor(ctx, entry).askIfBehind(await ctx.connect(entry)));
    const others = r.members.filter((m) => m.memberId !== r.member.memberId);
    const inThis = meshOption(ctx.config(), entry); // several meshes now: each command needs it
    const meshInbox = inThis ? `claudemesh inbox${inThis}` : "claudemesh inbox";
    ctx.out.result({ mesh: { id: r.mesh.id, slug: r.mesh.slug, name: r.mesh.name, broker: base }, member: r.member, members: others, keysCurrent: !stale }, () =>
      [
        `Joined "${r.mesh.name}" (${r.mesh.slug}) as ${displayName} (${r.member.role})${guessed ? ", a name guessed from this machine (to choose another: leave, then join again with --display-name)" : ""}.`,
        others.length ? `Also here: ${others.map((m) => `${m.displayName} (${m.role})`).join(", ")}.` : "Nobody else is here yet.",
        stale ? `${meshKeys.length ? "The mesh keys were rotated after this invite was made; the current keys" : "The invite brought no mesh keys; they"} ${asked ? `were requested from the owner and arrive with \`${meshInbox}\`` : `could not be requested from the owner now: \`${meshInbox}\` asks again, and they arrive with it`}.` : "",
        "",
        `Next: claudemesh peers${inThis} · claudemesh send <name> <message>${inThis} · claudemesh install (for Claude Code)`,
      ]
        .filter((l, i) => l !== "" || i === 3)
        .join("\n"),
    );
    for (const w of nameWarnings(r.members, r.member.memberId, r.mesh, displayName, keys.publicKey, meshArg(ctx.config(), entry))) ctx.out.warn(w);
  });
}
