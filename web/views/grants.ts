// Grants (who may reach whom, with what) and removals. Owners and admins see every member's grants
// and who left, was removed or banned; a member sees the grants they set.
import { fullOnRequest, h, patch, peerText, short, table, when } from "../lib/dom.ts";
import { get } from "../lib/api.ts";
import type { GrantsView } from "../lib/types.ts";
import type { View } from "./view.ts";
import { departure } from "../lib/members.ts";
import { BLOCKED_NOTE } from "../../src/client/block-note.ts";

export const grants: View = {
  id: "grants",
  title: "Grants & bans",
  visible: (s) => s.me !== null,
  refreshOn: ["member_joined", "member_revoked"],
  async render(root) {
    const v = await get<GrantsView>("/v1/dashboard/grants");
    patch(
      root,
      h("p", { class: "muted", text: `Without a grant a peer may send everything (${v.defaults.join(", ")}). A grant narrows it; an empty one blocks.` }),
      h("h2", { text: v.admin ? "Grants of every member" : "Your grants" }),
      table(
        "Grants",
        ["recipient", "sender", "allowed"],
        v.grants.map((g) => [peerText(g.recipientName), fullOnRequest(g.peerName === null ? short(g.peer, 16) : peerText(g.peerName), g.peer, "key", { "data-testid": "grant-peer" }), g.caps.length ? g.caps.join(", ") : h("span", { class: "badge bad", text: "blocked" })]),
        "No grants: everyone uses the defaults.",
      ),
      v.grants.some((g) => g.caps.length === 0) ? h("p", { class: "muted", "data-testid": "grants-blocked-note", text: BLOCKED_NOTE }) : null,
      v.admin ? h("h2", { text: "Left, removed and banned" }) : null,
      v.admin
        ? table(
            "Left, removed and banned",
            ["member", "since", "reason", "by", "state"],
            v.removed.map((m) => {
              const state = departure(m);
              const by = state === "left" || m.revokedBy === null ? "—" : m.revokedByName === null ? peerText(m.revokedBy) : fullOnRequest(peerText(m.revokedByName), m.revokedBy, "member id", { "data-testid": "removed-by" });
              const reason = state === "left" || m.revokedReason === null ? "—" : peerText(m.revokedReason);
              return [peerText(m.displayName), m.revokedAt ? when(m.revokedAt) : "—", reason, by, h("span", { class: state === "banned" ? "badge bad" : "", "data-testid": "removal-state", text: state })];
            }),
            "Nobody left or was removed.",
          )
        : null,
    );
  },
};
