// claudemesh grant|revoke|block|grants: what each peer may send you (enforced by the broker for
// you as recipient). No entry = everything; an empty entry = blocked. A blocked sender gets no
// notice, but every grant change is in the mesh's audit log, which members can read.
import type { Cap } from "../../protocol/fields.ts";
import { CAPS } from "../../protocol/choices.ts";
import type { GrantInfo, PeerInfo } from "../../protocol/results.ts";
import type { BrokerClient } from "../../client/client.ts";
import { peerLabel } from "../../client/resolve.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { UsageError } from "../output.ts";
import { refuseSelf, resolve } from "../mesh-io.ts";
import { closest } from "../../did-you-mean.ts";
import { orList } from "../choice-arg.ts";
import { BLOCKED_NOTE } from "../../client/block-note.ts";
import { shellCommand } from "../../config/command-line.ts";
import { ownerDmWarning } from "../owner-keys.ts";
import { overriddenBy } from "../../protocol/grant-precedence.ts";

type GrantArgs = CommonArgs & { peer: string; _?: string[] };

/** The capabilities named after the peer, as words or comma lists read as the CLI's other comma
 *  list (a config file's trustedProxies): items trimmed, empty ones (`dm,`, `dm,,topic`) skipped. */
function capsOf(args: GrantArgs): Cap[] {
  const words = (args._ ?? []).slice(1).flatMap((w) => w.split(",").map((x) => x.trim()).filter(Boolean));
  if (words.length === 0) throw new UsageError(`Name at least one capability: ${orList([...CAPS, "all"])}.`);
  const caps = new Set<Cap>();
  for (const w of words) {
    if (w === "all") CAPS.forEach((c) => caps.add(c));
    else if ((CAPS as readonly string[]).includes(w)) caps.add(w as Cap);
    else {
      const near = closest(w, [...CAPS, "all"]);
      throw new UsageError(`Unknown capability "${w}"${near ? ` (did you mean ${near}?)` : ""}; use ${orList([...CAPS, "all"])}.`);
    }
  }
  return [...caps];
}

/** What a change that changes nothing says instead: the peer may already do what was granted, may
 *  already not do what was revoked, or is already blocked. `byDefault`: the peer has no entry of its
 *  own, so what it may is the defaults everyone gets. */
type Unchanged = (name: string, caps: Cap[], byDefault: boolean) => string;

const sameCaps = (a: readonly Cap[], b: readonly Cap[]) => a.length === b.length && a.every((c) => b.includes(c));

/** How a grant entry's caps read. */
const capsText = (caps: readonly Cap[]) => caps.join(", ") || "blocked";

/** The entries among `grants` that are sessions of the member `memberPubkey`, with their rows. */
function sessionEntries(grants: readonly GrantInfo[], peers: readonly PeerInfo[], memberPubkey: string): { entry: GrantInfo; peer: PeerInfo }[] {
  const rows = new Map(peers.filter((p) => p.kind === "session" && p.memberPubkey === memberPubkey).map((p) => [p.pubkey, p]));
  return grants.flatMap((entry) => (rows.has(entry.peer) ? [{ entry, peer: rows.get(entry.peer)! }] : []));
}

/** The --mesh the user gave, for a command said back to them. */
const meshArgs = (args: GrantArgs) => (args.mesh ? ["--mesh", args.mesh] : []);

/** `claudemesh <words…>`, with the --mesh the user gave, ready to paste. */
const again = (args: GrantArgs, words: string[]) => shellCommand(["claudemesh", ...words, ...meshArgs(args)]);

/** The broker looks a sender's member key up first (§5.9), so a member's entry coming or going
 *  decides whether their sessions' own entries apply: said for each one whose standing changed
 *  that way (with an entry `caps` now, the sessions it lets send more than their own entries did;
 *  with none, every one), since a block set on one session would otherwise lift, or come back,
 *  without a word. */
async function sessionsTouched(client: BrokerClient, args: GrantArgs, grants: readonly GrantInfo[], member: PeerInfo, caps: readonly Cap[] | null): Promise<{ json: object; lines: string[] }> {
  if (!grants.some((g) => g.peer !== member.pubkey)) return { json: {}, lines: [] };
  // The whole list: which keys are this member's sessions (resolving the name read only its rows).
  const sessions = sessionEntries(grants, (await client.request("list_peers", {})).peers, member.pubkey);
  const listed = caps === null ? sessions : sessions.filter(({ entry }) => caps.some((c) => !entry.caps.includes(c)));
  if (listed.length === 0) return { json: {}, lines: [] };
  const lines = listed.map(({ entry, peer }) =>
    caps !== null
      ? `Their session ${peerLabel(peer)} has its own entry (${capsText(entry.caps)}), which no longer applies: a member's entry covers all of their sessions. To limit only that session again: ${again(args, ["grant", args.peer, "all"])}, then ${again(args, ["block", peer.pubkey.slice(0, 12)])}`
      : `Their session ${peerLabel(peer)} has its own entry (${capsText(entry.caps)}), which applies again.`,
  );
  return { json: { sessionEntries: listed.map(({ entry, peer }) => ({ peer: entry.peer, name: peer.displayName, caps: entry.caps, applies: caps === null })) }, lines };
}

async function change(ctx: Ctx, args: GrantArgs, next: (current: Cap[]) => Cap[], say: (name: string, caps: Cap[]) => string, unchanged: Unchanged) {
  const mesh = ctx.mesh();
  const client = await ctx.connect(mesh);
  const { target, peer } = await resolve(ctx, mesh, client, args.peer);
  if (!peer) throw new UsageError("Grants name a peer (name or key), not a topic or group.");
  const { grants, defaults } = await client.request("grant_list", {});
  // An entry for yourself made before this check existed may still be changed (to undo it).
  // Grants are the recipient's: one for your own identity would only filter what your own sessions
  // send you, which nobody asks for on purpose; the broker accepts it, so it is refused here.
  if (!grants.some((g) => g.peer === target)) refuseSelf(peer, mesh.publicKey, "grants say what other peers may send you, and one for yourself would only filter what your own sessions send you", "Name another peer (claudemesh peers lists them).");
  // The broker looks a sender's member key up first (§5.9): while the member has an entry, a
  // session's own entry changes nothing, and saying it did would be false.
  const memberEntry = peer.kind === "session" ? grants.find((g) => g.peer === peer.memberPubkey) : undefined;
  if (memberEntry) {
    const member = args.peer.split("/")[0]!;
    throw new UsageError(
      `${peer.displayName} is a session of a member whose own entry (${capsText(memberEntry.caps)}) applies to all of their sessions and takes precedence. Change that entry instead (claudemesh grant|revoke|block ${member} …), or remove it with ${again(args, ["grant", member, "all"])}, after which this session's own entry applies.`,
    );
  }
  const entry = grants.find((g) => g.peer === target);
  const current = entry?.caps ?? [...defaults];
  const caps = CAPS.filter((c) => next(current).includes(c));
  // An entry giving what everyone gets by default is removed, not written: it would pin the peer
  // to the defaults and, for a member, keep overriding their sessions' own entries for good (no
  // command deletes an entry otherwise). One left by an older version is removed the same way.
  const removing = entry !== undefined && sameCaps(caps, defaults);
  // Nothing is written when nothing would change: an entry equal to the defaults would still pin
  // the peer to them, and "may now" would announce a change that is not one.
  if (!removing && sameCaps(caps, current)) {
    ctx.out.result({ peer: target, name: peer.displayName, caps, changed: false }, () => unchanged(peer.displayName, caps, entry === undefined));
    return;
  }
  await client.request("grant_set", { peer: target, caps: removing ? null : caps });
  const warning = ownerDmWarning(peer, mesh, current, caps, args.peer, meshArgs(args));
  if (warning) ctx.out.warn(warning);
  const touched = peer.kind === "member" && (entry === undefined || removing) ? await sessionsTouched(client, args, grants, peer, removing ? null : caps) : { json: {}, lines: [] };
  const said = removing ? `${peer.displayName} may now: ${caps.join(", ")}${everyone(true)} (their entry is removed).` : say(peer.displayName, caps);
  ctx.out.result({ peer: target, name: peer.displayName, caps, changed: true, ...(removing ? { entryRemoved: true } : {}), ...touched.json }, () => [said, ...touched.lines].join("\n"));
}

const everyone = (byDefault: boolean) => (byDefault ? ", as everyone may by default" : "");

export async function grant(args: GrantArgs): Promise<void> {
  await command(args, (ctx) =>
    change(ctx, args, (cur) => [...cur, ...capsOf(args)], (n, c) => `${n} may now: ${c.join(", ")}.`, (n, c, byDefault) => `${n} may already: ${c.join(", ")}${everyone(byDefault)}. Nothing changed.`),
  );
}

export async function revoke(args: GrantArgs): Promise<void> {
  await command(args, (ctx) => {
    const drop = capsOf(args);
    const already = (n: string, c: Cap[], byDefault: boolean) =>
      c.length === 0 ? `${n} is already blocked. Nothing changed.` : `${n} already may not: ${CAPS.filter((x) => drop.includes(x)).join(", ")}; they may: ${c.join(", ")}${everyone(byDefault)}. Nothing changed.`;
    return change(ctx, args, (cur) => cur.filter((c) => !drop.includes(c)), (n, c) => `${n} may now: ${c.join(", ") || "nothing (blocked)"}.`, already);
  });
}

/** The command that lets a blocked peer send again, for the one the user typed. */
const undoBlock = (args: GrantArgs) => again(args, ["grant", args.peer, "all"]);

export async function block(args: GrantArgs): Promise<void> {
  await command(args, (ctx) =>
    change(ctx, args, () => [], (n) => `Blocked ${n}: nothing they send reaches you. The broker does not notify them, though the mesh's audit log, which every member can read, records the change. Undo: ${undoBlock(args)}`, (n) => `${n} is already blocked. Nothing changed.`),
  );
}

export async function list(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const client = await ctx.connect(ctx.mesh());
    const [{ grants, defaults }, { peers }] = await Promise.all([client.request("grant_list", {}), client.request("list_peers", {})]);
    const rows = new Map(peers.map((p) => [p.pubkey, p]));
    const keys = new Set(grants.map((g) => g.peer));
    // A session's entry does nothing while its member has one (§5.9): listed, but marked so.
    const named = grants.map((g) => {
      const row = rows.get(g.peer);
      const over = overriddenBy(keys, row);
      return { ...g, name: row?.displayName ?? g.peer.slice(0, 12), ...(over ? { overriddenBy: over } : {}) };
    });
    // Named with the key prefix: two peers may share a name, and an entry is for one key.
    const label = (key: string) => (rows.has(key) ? peerLabel(rows.get(key)!) : key.slice(0, 12));
    const line = (g: (typeof named)[number]) => `${label(g.peer).padEnd(40)} ${capsText(g.caps)}${g.overriddenBy ? ` (not applied: the entry of ${label(g.overriddenBy)} covers all of their sessions)` : ""}`;
    // The sentence about drops is for a block that applies: one overridden drops nothing.
    const blocked = named.some((g) => g.caps.length === 0 && !g.overriddenBy);
    ctx.out.result({ grants: named, defaults }, () => [`Everyone else: ${defaults.join(", ")}.`, ...named.map(line), ...(blocked ? [BLOCKED_NOTE] : [])].join("\n"));
  });
}
