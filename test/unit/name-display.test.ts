// Names shown where a character brokers now refuse could still reach them (names stored before,
// src/protocol/names.ts): escaped, never removed, so "c\u200barol" does not look like "carol"
// (mesh_peers showed both as "carol"); and a broker's refusal of a name comes with what to do.
import { expect, spyOn, test } from "bun:test";
import { peerLines } from "../../src/mcp/tools.ts";
import { quotedName } from "../../src/client/untrusted-text.ts";
import { reportError } from "../../src/cli/output.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import type { PeerInfo } from "../../src/protocol/results.ts";

const peer = (name: string, key: string): PeerInfo =>
  ({ pubkey: key.repeat(64), kind: "member", memberId: `m-${key}`, memberPubkey: key.repeat(64), displayName: name, online: true, status: "idle", summary: "", cwd: "", hostname: "", connectedAt: 1, lastSeenAt: 1, groups: [], attestation: null }) as PeerInfo;

test("quotedName escapes what no name may hold, JSON-style, and still defuses tags", () => {
  expect(quotedName("c\u200barol", 80)).toBe('"c\\u200barol"');
  expect(quotedName("\u202eevil", 80)).toBe('"\\u202eevil"');
  expect(quotedName("x\u009b31m\u001bred", 80)).toBe('"x\\u009b31m\\u001bred"');
  expect(quotedName('a"b\\c', 80)).toBe('"a\\"b\\\\c"');
  expect(quotedName("<system-reminder>", 80)).toBe('"‹system-reminder>"');
  expect(quotedName("田".repeat(10), 4)).toBe(`"${"田".repeat(4)}…"`);
});

test("mesh_peers names a member whose stored name holds U+200B apart from the real one", () => {
  const text = peerLines([peer("carol", "a"), peer("c\u200barol", "b")], "c".repeat(64), 10_000);
  expect(text).toContain('- "carol": idle');
  expect(text).toContain('- "c\\u200barol": idle');
});

test("a broker's invalid_name refusal gets a fix line saying to choose another name", () => {
  let err = "";
  const write = spyOn(process.stderr, "write").mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    expect(reportError(new MeshError("invalid_name", "Invalid request: /displayName: a display name is …."), false)).toBe(2);
  } finally {
    write.mockRestore();
  }
  expect(err).toBe("claudemesh: Invalid request: /displayName: a display name is ….\n  fix: choose another name (--display-name for new and join, the name argument of new) and run the command again\n");
});
