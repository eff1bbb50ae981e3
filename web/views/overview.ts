// The mesh at a glance: who is online, what each session is doing and where, and the members.
import { ago, fullOnRequest, h, patch, peerText, short, table, when } from "../lib/dom.ts";
import { get } from "../lib/api.ts";
import type { MeshView } from "../lib/types.ts";
import type { View } from "./view.ts";
import { departure } from "../lib/members.ts";

function peerRow(p: MeshView["peers"][number]): HTMLTableRowElement {
  const status = p.online ? p.status : "offline";
  return h(
    "tr",
    { "data-testid": "peer-row", "data-name": p.displayName, "data-online": String(p.online) },
    h("td", {}, h("strong", {}, peerText(p.displayName)), h("div", { class: "muted mono" }, fullOnRequest(short(p.pubkey, 12), p.pubkey, "key", { "data-testid": "peer-key" }))),
    h("td", { text: p.kind }),
    h("td", {}, h("span", { class: `badge ${status}`, "data-testid": "peer-status", text: status })),
    h("td", { "data-testid": "peer-summary" }, p.summary ? peerText(p.summary) : "—"),
    h("td", { class: "mono" }, p.hostname || p.cwd ? peerText([p.hostname, p.cwd].filter(Boolean).join(":")) : "—"),
    h("td", { text: p.online ? `online since ${ago(p.connectedAt)}` : `last seen ${ago(p.lastSeenAt)}` }),
  );
}

export const overview: View = {
  id: "overview",
  title: "Overview",
  visible: (s) => s.me !== null,
  refreshOn: ["peer_joined", "peer_left", "peer_status", "member_joined", "member_revoked"],
  // A peer whose connection closed is offline at once in the broker's answers, but its peers (and
  // this page) hear `peer_left` only after presenceGrace (30 s), in case it comes back; a re-read
  // shows it within seconds, and keeps "online since …" and "last seen …" current.
  pollMs: 5_000,
  async render(root) {
    const v = await get<MeshView>("/v1/dashboard/mesh");
    const peers = [...v.peers].sort((a, b) => Number(b.online) - Number(a.online) || a.displayName.localeCompare(b.displayName));
    const online = peers.filter((p) => p.online);
    const active = v.members.filter((m) => m.revokedAt === null);
    const card = (label: string, n: number, id: string) => h("div", { class: "card" }, h("div", { class: "n", "data-testid": id, text: n }), h("div", { class: "muted", text: label }));
    // Patched, not redrawn: the 5 s re-read changes a few texts, and the keyboard stays put.
    patch(
      root,
      h("div", { class: "cards" }, card("members", active.length, "count-members"), card("online now", online.length, "count-online"), card("working", online.filter((p) => p.status === "working").length, "count-working"), card("key epoch", v.mesh.keyEpoch, "key-epoch")),
      h("h2", { text: "Peers" }),
      table("Peers", ["name", "kind", "status", "summary", "where", "seen"], peers.map(peerRow), "No peers have connected yet."),
      h("h2", { text: "Members" }),
      table(
        "Members",
        ["name", "role", "joined", "state"],
        v.members.map((m) => [peerText(m.displayName), m.role, when(m.joinedAt), h("span", { "data-testid": "member-state", text: m.revokedAt === null ? "active" : departure(m) })]),
      ),
    );
  },
};
