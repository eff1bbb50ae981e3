// The audit chain: every membership and key event, hash-linked. The broker recomputes the chain and
// names the first entry that does not hold. (This is the broker's word; `claudemesh audit verify`
// checks it on your machine against the head you saw last.)
import { fullOnRequest, h, patch, peerText, short, table } from "../lib/dom.ts";
import { get } from "../lib/api.ts";
import type { AuditView, MeshView } from "../lib/types.ts";
import type { View } from "./view.ts";

export const audit: View = {
  id: "audit",
  title: "Audit log",
  visible: (s) => s.me !== null,
  refreshOn: ["member_joined", "member_revoked", "key_rotated", "topic_created"],
  async render(root) {
    const [v, mesh] = await Promise.all([get<AuditView>("/v1/dashboard/audit"), get<MeshView>("/v1/dashboard/mesh")]);
    const names = new Map(mesh.members.map((m) => [m.memberId, m.displayName]));
    const x = v.verification;
    const banner = x.valid
      ? h("div", { class: "banner ok", "data-testid": "audit-status", "data-valid": "true" }, `Chain verified: ${x.entries} entries, head `, fullOnRequest(h("code", { text: short(x.head, 16) }), x.head, "hash", { "data-testid": "audit-head" }))
      : h("div", { class: "banner bad", "data-testid": "audit-status", "data-valid": "false", "data-broken-at": x.brokenAt ?? "" }, `Chain BROKEN at entry #${x.brokenAt}: ${x.reason}. Entries from there on cannot be trusted.`);
    const broken = (seq: number) => x.brokenAt !== null && seq >= x.brokenAt;
    patch(
      root,
      h("h2", { text: "Audit log" }),
      banner,
      table(
        "Audit log",
        ["#", "time", "event", "by", "details", "hash"],
        v.entries.map((e) =>
          h(
            "tr",
            { "data-testid": "audit-row", "data-seq": e.seq, class: broken(e.seq) ? "broken" : "" },
            // Said in words, not only in red (WCAG 1.4.1).
            h("td", {}, String(e.seq), broken(e.seq) ? " " : null, broken(e.seq) ? h("span", { class: "badge bad", text: "untrusted" }) : null),
            h("td", { text: new Date(e.createdAt).toLocaleString() }),
            h("td", { text: e.eventType }),
            h("td", {}, e.actor ? peerText(names.get(e.actor) ?? e.actor) : "broker"),
            h("td", { class: "mono" }, peerText(JSON.stringify(e.payload))),
            h("td", { class: "mono" }, fullOnRequest(short(e.hash, 12), e.hash, "hash", { "data-testid": "audit-hash" })),
          ),
        ),
        "The chain is empty.",
      ),
    );
  },
};
