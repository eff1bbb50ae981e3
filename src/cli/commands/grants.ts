// claudemesh grant|revoke|block|grants: what each peer may send you (enforced by the broker for
// you as recipient). No entry = everything; an empty entry = blocked. A blocked sender gets no
// notice, but every grant change is in the mesh's audit log, which members can read.
import type { Cap } from "../../protocol/fields.ts";
import { CAPS } from "../../protocol/choices.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import { UsageError } from "../output.ts";
import { refuseSelf, resolve } from "../mesh-io.ts";
import { closest } from "../../did-you-mean.ts";
import { orList } from "../choice-arg.ts";
import { BLOCKED_NOTE } from "../../client/block-note.ts";
import { shellCommand } from "../../config/command-line.ts";

type GrantArgs = CommonArgs & { peer: string; _?: string[] };

function capsOf(args: GrantArgs): Cap[] {
  const words = (args._ ?? []).slice(1).flatMap((w) => w.split(","));
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
    const member = args.peer.split("/")[0];
    throw new UsageError(
      `${peer.displayName} is a session of a member whose own entry (${memberEntry.caps.join(", ") || "blocked"}) applies to all of their sessions and takes precedence. Change that entry instead (claudemesh grant|revoke|block ${member} …).`,
    );
  }
  const entry = grants.find((g) => g.peer === target);
  const current = entry?.caps ?? [...defaults];
  const caps = CAPS.filter((c) => next(current).includes(c));
  // Nothing is written when nothing would change: an entry equal to the defaults would still pin
  // the peer to them, and "may now" would announce a change that is not one.
  if (caps.length === current.length && caps.every((c) => current.includes(c))) {
    ctx.out.result({ peer: target, name: peer.displayName, caps, changed: false }, () => unchanged(peer.displayName, caps, entry === undefined));
    return;
  }
  await client.request("grant_set", { peer: target, caps });
  ctx.out.result({ peer: target, name: peer.displayName, caps, changed: true }, () => say(peer.displayName, caps));
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
const undoBlock = (args: GrantArgs) => shellCommand(["claudemesh", "grant", args.peer, "all", ...(args.mesh ? ["--mesh", args.mesh] : [])]);

export async function block(args: GrantArgs): Promise<void> {
  await command(args, (ctx) =>
    change(ctx, args, () => [], (n) => `Blocked ${n}: nothing they send reaches you. The broker does not notify them, though the mesh's audit log, which every member can read, records the change. Undo: ${undoBlock(args)}`, (n) => `${n} is already blocked. Nothing changed.`),
  );
}

export async function list(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const client = await ctx.connect(ctx.mesh());
    const [{ grants, defaults }, { peers }] = await Promise.all([client.request("grant_list", {}), client.request("list_peers", {})]);
    const named = grants.map((g) => ({ ...g, name: peers.find((p) => p.pubkey === g.peer)?.displayName ?? g.peer.slice(0, 12) }));
    const blocked = named.some((g) => g.caps.length === 0);
    ctx.out.result({ grants: named, defaults }, () =>
      [`Everyone else: ${defaults.join(", ")}.`, ...named.map((g) => `${g.name.padEnd(24)} ${g.caps.length ? g.caps.join(", ") : "blocked"}`), ...(blocked ? [BLOCKED_NOTE] : [])].join("\n"),
    );
  });
}
