// `claudemesh peers` lines (src/cli/commands/peers.ts): the columns after the state line up
// whether a peer is online ("idle") or offline ("offline, seen never", "offline, seen 59m ago");
// the state column was narrower than every offline state, so the key column wandered.
import { expect, test } from "bun:test";
import { nameColumn, peerLine } from "../../src/cli/commands/peers.ts";
import { NAME_COLUMNS } from "../../src/cli/table.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";

const NOW = Date.now();
const peer = (name: string, key: string, over: Partial<PeerInfo>): PeerInfo =>
  ({ pubkey: key.repeat(64), kind: "member", memberId: `m-${name}`, memberPubkey: key.repeat(64), displayName: name, online: false, status: "idle", summary: "", cwd: "", hostname: "", connectedAt: null, lastSeenAt: null, groups: [], attestation: null, ...over }) as PeerInfo;

test("the key column starts at one place for online, never-seen and long-ago peers", () => {
  const lines = [
    peerLine(peer("alice", "a", { online: true, connectedAt: NOW, lastSeenAt: NOW })),
    peerLine(peer("bob", "b", { lastSeenAt: null })),
    peerLine(peer("carol", "c", { lastSeenAt: NOW - 59 * 60_000 })),
    peerLine(peer("dave", "d", { lastSeenAt: NOW - 365 * 86_400_000 })),
  ];
  expect(lines.map((l) => l.indexOf(l.slice(-12)))).toEqual([48, 48, 48, 48]);
  expect(lines[1]).toBe(`"bob"                    offline, seen never    ${"b".repeat(12)}`);
});

// Names are quoted and measured in terminal columns: "田中太郎" took 4 columns more than its
// padding allowed and an NFD "José" 1 less; a 64-character CJK name took 128 columns; and a member
// named "me (you)" showed as a second "me (you)" beside the "(you)" marker.
test("names are quoted and escaped, the key column stays put for wide, combining and long names, and the (you) marker cannot be faked", () => {
  const peers = [peer("alice", "a", {}), peer("田中太郎", "b", {}), peer("Jose\u0301", "c", {}), peer("田".repeat(64), "d", {}), peer("me (you)", "e", {}), peer("c\u200barol", "f", {}), peer("👍🏽 fam", "1", {})];
  const me = "2".repeat(64);
  const mine = peer("me", "2", {});
  const width = nameColumn([...peers, mine], me);
  const lines = [...peers, mine].map((p) => peerLine(p, me, width));
  expect(lines.map((l) => Bun.stringWidth(l.slice(0, l.indexOf(" offline"))))).toEqual(lines.map(() => width));
  expect(lines.map((l) => l.slice(0, l.indexOf(" offline")).trimEnd())).toEqual([
    '"alice"',
    '"田中太郎"',
    '"Jose\u0301"',
    `"${"田".repeat(18)}…"`,
    '"me (you)"',
    '"c\\u200barol"',
    '"👍🏽 fam"',
    '"me" (you)',
  ]);
  expect(Bun.stringWidth(`"${"田".repeat(18)}…"`)).toBeLessThanOrEqual(NAME_COLUMNS);
});
