// Turning what a person types into a routing target: `*`, `#topic`, `@group` pass through; a
// display name or a public-key prefix is matched against the peers the broker listed. Names are
// compared as a reader sees them (name-match.ts): a look-alike of a name matches it as the name
// itself does, so that another member who took a name looking like yours makes it ambiguous. A name
// that only looks alike through ASCII look-alikes (a1ice, rnallory: not the same letters) makes a
// name ambiguous but never stands for it alone: `send neil` is not sent to nell. An ambiguous name
// is refused with the candidates, never guessed; the one exception is a name whose matches are
// all identities of one member (the member key, or the one live one: see `liveOne`).
import { MeshError } from "../protocol/errors.ts";
import type { PeerInfo } from "../protocol/results.ts";
import { isFanoutTarget } from "../crypto/fields.ts";
import { oneLine, quotedName } from "./untrusted-text.ts";
import { asciiLookAlikes, letterSkeleton, lookAlikeMarks, looksAlike, nameSkeleton } from "./name-match.ts";
import { MIN_KEY_PREFIX } from "../protocol/name-compare.ts";

export type Resolved = { target: string; peer: PeerInfo | null };

export const MIN_PREFIX = MIN_KEY_PREFIX;

/** How a resolved peer is named back to whoever sent to it: its name (the peer's own choice,
 *  quoted and cleaned) and the key prefix that says who the message was encrypted to. */
export const peerLabel = (p: Pick<PeerInfo, "displayName" | "pubkey">): string => `${quotedName(p.displayName, 80)} (${p.pubkey.slice(0, 12)})`;

/** One candidate, on one line: every field but the key is the peer's own choice. `marked`: what
 *  tells look-alike names apart is said (lookAlikeMarks; its ASCII look-alikes only when `ascii`),
 *  where their quoted forms (invisible characters removed) read the same or nearly. */
function describe(p: PeerInfo, marked: boolean, ascii: boolean): string {
  const where = oneLine([p.hostname, p.cwd].filter(Boolean).join(":"), 120);
  const odd = marked ? lookAlikeMarks(p.displayName, ascii) : "";
  return `${quotedName(p.displayName, 80)} (${p.kind} ${p.pubkey.slice(0, 12)}${where ? `, ${where}` : ""}${p.online ? ", online" : ""}${odd ? `, has ${odd}` : ""})`;
}

/** False for `*`, `#…` and `@…`, which resolveTarget settles without the peer list (or refuses as
 *  malformed); true for a name or key prefix, which needs it. */
export function namesPeer(input: string): boolean {
  const t = input.trim();
  return !(t === "*" || t.startsWith("#") || t.startsWith("@"));
}

/** Resolves `input` among `peers` (which should include offline members and live sessions).
 *  `self`, the sender's member key, leaves that member key out of name matching unless the name is
 *  theirs and nobody else's: "unknown" typed by one of two members called unknown means the other
 *  one (a message to yourself is refused anyway). The sender's sessions still match: `send me/app`
 *  from a terminal may well mean their own Claude Code session, and leaving it out handed the
 *  message to another member who called itself "me/app". A full key or a key prefix is deliberate
 *  and matches any of them. */
export function resolveTarget(input: string, peers: readonly PeerInfo[], self: string | null = null): Resolved {
  const text = input.trim();
  // "" is a prefix of every name: without this, the only other member was its one match (a
  // `kick ' '` removed them), and `mesh:` with nothing after it named nobody.
  if (!text) throw new MeshError("invalid_argument", `No peer named: the target is empty${input ? " (only spaces)" : ""}. Give a peer's name or a public-key prefix (≥ ${MIN_PREFIX} hex), after the "mesh:" prefix if you use one.`);
  if (isFanoutTarget(text)) return { target: text, peer: null };
  if (!namesPeer(text)) throw new MeshError("invalid_argument", `"${text}" is not a valid topic or group name (lowercase letters, digits, - and _).`);
  const lower = text.toLowerCase();
  const exactKey = peers.find((p) => p.pubkey === lower);
  if (exactKey) return { target: exactKey.pubkey, peer: exactKey };
  const key = nameSkeleton(text);
  if (!key) throw new MeshError("invalid_argument", `No peer named: "${text}" has no visible characters. Give a peer's name or a public-key prefix (≥ ${MIN_PREFIX} hex).`);
  const others = (list: PeerInfo[]) => list.filter((p) => !(p.kind === "member" && p.pubkey === self));
  // Every look-alike counts, the same code points as any other: an exact match never outranks a
  // look-alike, or whoever took a name first would keep it from a newcomer who copied it, and a
  // newcomer whose copy is the exact one would take what was meant for the first. But only a peer
  // with the same letters (letterSkeleton) holds the name: one that only looks alike through ASCII
  // look-alikes joins the candidates of a held name and is never one by itself (`send neil` is not
  // sent to nell, a key prefix is not blocked by a name written with other digits), and the
  // sender's own name means the sender unless another peer holds it.
  const letters = letterSkeleton(text);
  const named = peers.filter((p) => nameSkeleton(p.displayName) === key);
  const holders = named.filter((p) => letterSkeleton(p.displayName) === letters);
  let candidates = others(holders).length > 0 ? others(named) : holders;
  // A member's sessions may carry its name too: the member key reaches them all, so it is preferred,
  // but only when every candidate is that member's (a session named so by someone else is not).
  const members = candidates.filter((p) => p.kind === "member");
  if (members.length === 1 && candidates.every((p) => p.memberPubkey === members[0]!.memberPubkey)) candidates = members;
  // A key prefix reaches the key that has it: a peer may call itself by another's key prefix (its
  // name is its own choice), so a text that is both is ambiguous, never settled by the name.
  const prefixed = /^[0-9a-f]+$/.test(lower) && lower.length >= MIN_PREFIX ? peers.filter((p) => p.pubkey.startsWith(lower)) : [];
  if (prefixed.some((p) => !candidates.some((c) => c.memberPubkey === p.memberPubkey))) candidates = [...candidates, ...prefixed];
  if (candidates.length === 0) candidates = prefixed;
  // The start of a name, only when no name compares equal (the broker's peer_lookup lists these
  // only then, §4.3.28): held, as above, by a peer whose letters start so.
  if (candidates.length === 0 && named.length === 0) {
    const starting = others(peers.filter((p) => nameSkeleton(p.displayName).startsWith(key)));
    if (starting.some((p) => letterSkeleton(p.displayName).startsWith(letters))) candidates = starting;
  }
  const unique = [...new Map(candidates.map((p) => [p.pubkey, p])).values()];
  if (unique.length === 1) return { target: unique[0]!.pubkey, peer: unique[0]! };
  if (unique.length === 0) {
    // Where names are listed is the caller's to say (peerHint): a command in a terminal, a tool in Claude Code.
    throw new MeshError("unknown_recipient", `No peer matches "${text}". Give a peer's name or a public-key prefix (≥ ${MIN_PREFIX} hex).`);
  }
  const live = liveOne(unique);
  if (live) return { target: live.pubkey, peer: live };
  throw ambiguous(text, unique, peers);
}

/** When exactly one candidate is online and every other is an offline identity of the same member
 *  (a Claude Code session that ended, a leftover of an earlier version, the member key itself), the
 *  message reaches the same person either way: the member key if it is a candidate (a DM to it
 *  reaches every live session of theirs and waits for them otherwise, docs/protocol.md §5.1), else
 *  the online session (an offline session's copy would wait in a mailbox nobody may read again).
 *  Null when none or several are online, or when a candidate is another member's: two people who
 *  share a name are never guessed between. */
function liveOne(candidates: readonly PeerInfo[]): PeerInfo | null {
  const online = candidates.filter((p) => p.online);
  if (online.length !== 1) return null;
  const live = online[0]!;
  if (!candidates.every((p) => p.memberPubkey === live.memberPubkey)) return null;
  return candidates.find((p) => p.kind === "member") ?? live;
}

/** The refusal of an ambiguous name, online candidates first, then the most recently seen. When
 *  none is online and all are one member's, it points at that member's name: a message to the
 *  member key reaches every live session of theirs (docs/protocol.md §5.1). */
function ambiguous(text: string, candidates: readonly PeerInfo[], peers: readonly PeerInfo[]): MeshError {
  const sorted = [...candidates].sort((a, b) => Number(b.online) - Number(a.online) || (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0));
  const member = candidates.some((p) => p.online) ? null : soleMember(candidates, peers);
  // Worded for every command that resolves a name (send, kick, block, grant…), not only send.
  const hint = member ? `\nNone of them is online; all are sessions of the member ${quotedName(member.displayName, 80)}: name ${quotedName(member.displayName, 80)} instead (a message to it reaches every one of their sessions).` : "";
  // Names that differ only in characters a reader cannot see, or may not, are told apart by those
  // characters: code points outside ASCII, and ASCII look-alikes where the letters differ.
  const ascii = onlyAlike(candidates);
  const mixed = new Set(candidates.map((p) => p.displayName)).size > 1 && candidates.some((p) => lookAlikeMarks(p.displayName, ascii));
  const which = ascii && candidates.some((p) => asciiLookAlikes(p.displayName)) ? "…" : "U+…";
  const lookAlike = mixed ? `\nSome of these names only look alike (the characters marked "has ${which}" differ): name the one you mean by its key prefix.` : ascii ? `\nSome of these names only look alike: name the one you mean by its key prefix.` : "";
  return new MeshError("invalid_argument", `"${text}" matches ${candidates.length} peers; use a longer name or a key prefix:\n${listed(sorted, mixed, ascii).join("\n")}${lookAlike}${hint}`);
}

/** Whether two of `candidates` have names that compare equal but are not the same letters (a1ice
 *  and alice; not alice and a peer whose key prefix was typed, nor alice and alina for "ali"). */
function onlyAlike(candidates: readonly PeerInfo[]): boolean {
  const letters = new Map<string, string>();
  for (const p of candidates) {
    const [key, own] = [nameSkeleton(p.displayName), letterSkeleton(p.displayName)];
    if ((letters.get(key) ?? own) !== own) return true;
    letters.set(key, own);
  }
  return false;
}

/** Offline candidates listed before the rest are counted: each ended Claude Code session keeps its
 *  name on the roster (up to MAX_SESSIONS_PER_MEMBER, docs/protocol.md §8.1), so a name in use for
 *  weeks matches dozens of them. A count replaces one line only when it hides more than one. */
const OFFLINE_LISTED = 5;

/** The candidates' lines (sorted online first, then most recently seen): every online one, and the
 *  first OFFLINE_LISTED offline ones with a count of the rest. */
function listed(sorted: readonly PeerInfo[], marked: boolean, ascii: boolean): string[] {
  const online = sorted.filter((p) => p.online);
  const offline = sorted.filter((p) => !p.online);
  const shown = offline.length > OFFLINE_LISTED + 1 ? offline.slice(0, OFFLINE_LISTED) : offline;
  const lines = [...online, ...shown].map((p) => `  ${describe(p, marked, ascii)}`);
  const rest = offline.length - shown.length;
  return rest > 0 ? [...lines, `  … and ${rest} more offline, seen earlier (the peer list shows them all)`] : lines;
}

/** The member every candidate belongs to, if its name names it alone. */
function soleMember(candidates: readonly PeerInfo[], peers: readonly PeerInfo[]): PeerInfo | null {
  const key = candidates[0]!.memberPubkey;
  if (!candidates.every((p) => p.memberPubkey === key)) return null;
  const member = peers.find((p) => p.kind === "member" && p.pubkey === key);
  const sameName = (p: PeerInfo) => p.kind === "member" && member !== undefined && looksAlike(p.displayName, member.displayName);
  return member && peers.filter(sameName).length === 1 ? member : null;
}

/** Splits an optional `<mesh>:` prefix off a target (one MCP server serves several meshes):
 *  `slugs` are what may name a mesh there, the joined meshes' slugs and ids (the CLI and the MCP
 *  server pass both). */
export function splitMeshPrefix(input: string, slugs: readonly string[]): { slug: string | null; rest: string } {
  const i = input.indexOf(":");
  if (i > 0 && slugs.includes(input.slice(0, i))) return { slug: input.slice(0, i), rest: input.slice(i + 1) };
  return { slug: null, rest: input };
}
