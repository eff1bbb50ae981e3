// `claudemesh peers` lines (src/cli/commands/peers.ts): the columns after the state line up
// whether a peer is online ("idle") or offline ("offline, seen never", "offline, seen 59m ago");
// the state column was narrower than every offline state, so the key column wandered.
import { expect, test } from "bun:test";
import { peerLine } from "../../src/cli/commands/peers.ts";
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
  expect(lines[1]).toBe(`bob                      offline, seen never    ${"b".repeat(12)}`);
});
