// Grants (who may reach whom, with what) and removals. Owners and admins see every member's grants
// and who left, was removed or banned; a member sees the grants they set.
import { fullOnRequest, h, patch, peerText, table, when, type Child } from "../lib/dom.ts";
import { keyPrefix } from "../lib/chat.ts";
import { get } from "../lib/api.ts";
import type { GrantsView } from "../lib/types.ts";
import type { View } from "./view.ts";
import { departure } from "../lib/members.ts";
import { BLOCKED_NOTE } from "../../src/client/block-note.ts";

type Entry = GrantsView["grants"][number];

/** A sender as `claudemesh grants` names it: its name (when the broker knows the key) and the
 *  start of its key, which opens to the whole key. Two peers may share a name; an entry is for one key. */
const sender = (name: string | null, key: string, testid: string): HTMLElement =>
  h("span", {}, name === null ? null : peerText(name), name === null ? null : " ", fullOnRequest(keyPrefix(key), key, "key", { class: "mono", "data-testid": testid }));

/** What an entry allows and, for a session's entry its member's entry overrides (the broker looks
 *  the member key up first, protocol.md §5.9), that it is not applied and whose entry is. */
function allowed(g: Entry, all: readonly Entry[]): Child {
  const caps = g.caps.length ? g.caps.join(", ") : h("span", { class: "badge bad", text: "blocked" });
  if (g.overriddenBy === null) return caps;
  const member = all.find((x) => x.recipient === g.recipient && x.peer === g.overriddenBy);
  return h("span", {}, caps, " ", h("span", { class: "muted", "data-testid": "grant-overridden" }, "(not applied: the entry of ", sender(member?.peerName ?? null, g.overriddenBy, "grant-overridden-by"), " covers all of their sessions)"));
}

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
        v.grants.map((g) => [peerText(g.recipientName), sender(g.peerName, g.peer, "grant-peer"), allowed(g, v.grants)]),
        "No grants: everyone uses the defaults.",
      ),
      // About drops, so only for a block that applies: one overridden drops nothing.
      v.grants.some((g) => g.caps.length === 0 && g.overriddenBy === null) ? h("p", { class: "muted", "data-testid": "grants-blocked-note", text: BLOCKED_NOTE }) : null,
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
