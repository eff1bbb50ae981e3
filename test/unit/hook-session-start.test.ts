// The SessionStart hook's context (src/cli/commands/hook.ts, peersContext): every mesh and the
// peers online on it, within the injection budget however many peers there are (Claude Code drops
// an additionalContext over 10,000 characters), the rest counted, the unread count always kept.
import { describe, expect, test } from "bun:test";
import { peersContext } from "../../src/cli/commands/hook.ts";
import { MAX_INJECTION_CHARS } from "../../src/mcp/framing.ts";

const peer = (i: number, long = false) => ({ name: long ? `agent-${i}-${"n".repeat(100)}` : `agent-${i}`, status: "idle", summary: long ? "s".repeat(200) : "" });
const mesh = (slug: string, n: number, long = false) => ({ mesh: slug, state: "open", peers: Array.from({ length: n }, (_, i) => peer(i, long)) });
const listed = (text: string) => (text.match(/"agent-\d+/g) ?? []).length;
const counted = (text: string) => [...text.matchAll(/and (\d+) more \(mesh_peers lists them\)/g)].reduce((n, m) => n + Number(m[1]), 0);

describe("SessionStart context", () => {
  test("a few peers: all listed, as before", () => {
    const text = peersContext({ meshes: [mesh("team", 2), { mesh: "ops", state: "reconnecting", peers: [] }, mesh("solo", 0)], pending: 3 });
    expect(text).toBe('claudemesh: this session is a peer on mesh team: 2 peer(s) online: "agent-0" (idle); "agent-1" (idle) · mesh ops: connecting (reconnecting) · mesh solo: no other peer online. 3 unread message(s): call mesh_inbox.');
  });

  test("1,000 peers with long names and summaries over three meshes: within the budget, each peer listed or counted", () => {
    const r = { meshes: [mesh("team", 600, true), mesh("ops", 300, true), mesh("lab", 100, true)], pending: 12 };
    const text = peersContext(r);
    expect(text.length).toBeLessThanOrEqual(MAX_INJECTION_CHARS);
    expect(listed(text)).toBeGreaterThan(20);
    expect(listed(text) + counted(text)).toBe(1000);
    for (const m of r.meshes) expect(text).toContain(`mesh ${m.mesh}: ${m.peers.length} peer(s) online: `);
    expect(text).toEndWith(" 12 unread message(s): call mesh_inbox.");
  });

  test("very many meshes: cut, the unread count kept", () => {
    const text = peersContext({ meshes: Array.from({ length: 300 }, (_, i) => mesh(`mesh-${i}-${"x".repeat(60)}`, 5)), pending: 1 });
    expect(text.length).toBeLessThanOrEqual(MAX_INJECTION_CHARS);
    expect(text).toContain("… (mesh_peers lists the rest).");
    expect(text).toEndWith(" 1 unread message(s): call mesh_inbox.");
  });
});
