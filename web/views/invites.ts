// Invites (owner and admin): create one here — signed in this page with your member key, the mesh
// keys sealed for the link holder — with a QR code and a copy button; list them with uses left;
// revoke (after a confirming second click).
import { h, show, table, when } from "../lib/dom.ts";
import { get, post } from "../lib/api.ts";
import { makeInvite } from "../lib/invite.ts";
import { qrSvg } from "../lib/qr.ts";
import type { InvitesView, PageState } from "../lib/types.ts";
import type { View } from "./view.ts";
import { MAX_INVITE_USES } from "../../src/protocol/limits.ts";
import { inviteState } from "../../src/protocol/results.ts";

const LIFETIMES: [string, number][] = [
  ["1 hour", 3600],
  ["1 day", 86_400],
  ["7 days", 7 * 86_400],
  ["30 days", 30 * 86_400],
];


/** The last invite made in this page: its link is shown until the page is left (never stored). */
let created: { link: string } | null = null;

async function copy(text: string, area: HTMLTextAreaElement, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API outside a secure context (plain http to a remote host): select instead.
    area.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
}

function resultPanel(links: { link: string }): HTMLElement {
  const area = h("textarea", { readonly: true, "aria-label": "Invite link", "data-testid": "invite-link" });
  area.value = links.link;
  const button = h("button", { type: "button", "data-testid": "invite-copy", text: "Copy link" });
  button.addEventListener("click", () => void copy(links.link, area, button));
  return h(
    "div",
    { class: "panel invite-result" },
    h("div", { class: "qr" }, qrSvg(links.link)),
    h("div", { class: "link" }, h("strong", { text: "Invite link" }), area, button, h("p", { class: "muted", text: "Send it over a channel you trust; whoever holds it can join until it is used up. The QR code holds the same link. Join from a terminal with: claudemesh join - (then paste the link and press Enter, which keeps it out of the process list and shell history)." })),
  );
}

function createForm(state: PageState, onCreated: (links: { link: string }) => void): HTMLElement {
  const me = state.me!;
  if (!state.keys) {
    return h("div", { class: "panel muted", "data-testid": "invite-nokeys" }, "Invites are signed with your member key, which this tab does not hold. Open a fresh link from `claudemesh dashboard` in this tab, or run `claudemesh invite`.");
  }
  if (state.keys.meshKeys.length === 0) {
    // An invite carries the mesh keys to the joiner, sealed; one made here would carry none.
    return h("div", { class: "panel error", "data-testid": "invite-nomeshkey" }, "There is no mesh key in this tab, so an invite made here could not give the joiner the mesh keys (they could read no post). Run `claudemesh dashboard` on a machine that holds the keys, or `claudemesh invite` there.");
  }
  const role = h("select", { name: "role" }, h("option", { value: "member", text: "member" }), me.member.role === "owner" ? h("option", { value: "admin", text: "admin" }) : null);
  const uses = h("input", { name: "maxUses", type: "number", min: 1, max: MAX_INVITE_USES, value: 1 });
  const lifetime = h("select", { name: "lifetime" }, ...LIFETIMES.map(([t, s]) => h("option", { value: s, text: t, selected: s === 7 * 86_400 })));
  const error = h("span", { class: "error", role: "alert", "data-testid": "invite-error" });
  const form = h(
    "form",
    { class: "inline panel" },
    h("label", {}, "role", role),
    h("label", {}, "max uses", uses),
    h("label", {}, "expires in", lifetime),
    h("button", { type: "submit", class: "primary", "data-testid": "invite-create", text: "Create invite" }),
    error,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    error.textContent = "";
    void (async () => {
      try {
        const built = makeInvite(me.mesh.id, state.keys!, { role: role.value as "member" | "admin", maxUses: Number(uses.value), lifetimeS: Number(lifetime.value) });
        await post("/v1/dashboard/invites", built.frame);
        onCreated(built);
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    })();
  });
  return form;
}

/** Revoke, in two steps: a revoked invite cannot be restored, so the first click only asks
 *  (with the id, and Cancel); the second revokes. No browser dialog: a page may be barred from
 *  opening them, which would leave nothing revocable. */
function revokeCell(inviteId: string, active: boolean, onDone: () => void): HTMLElement {
  const ask = h("button", { type: "button", class: "danger", "aria-label": `Revoke invite ${inviteId.slice(0, 8)}…`, "data-testid": "invite-revoke", disabled: !active, text: "Revoke" });
  const sure = h("button", { type: "button", class: "danger", "data-testid": "invite-revoke-confirm", text: "Revoke for good" });
  const cancel = h("button", { type: "button", "data-testid": "invite-revoke-cancel", text: "Cancel" });
  const question = h("span", { "data-testid": "invite-revoke-question" }, `Nobody will be able to join with ${inviteId.slice(0, 8)}… any more. `, sure, " ", cancel);
  const cell = h("span", {}, ask);
  // The button pressed is replaced: focus goes to what replaces it, not back to the page's top.
  ask.addEventListener("click", () => (show(cell, question), sure.focus()));
  cancel.addEventListener("click", () => (show(cell, ask), ask.focus()));
  sure.addEventListener("click", () => {
    sure.disabled = true;
    void post(`/v1/dashboard/invites/${encodeURIComponent(inviteId)}/revoke`).then(onDone, (err) => {
      sure.disabled = false;
      sure.textContent = (err as Error).message;
    });
  });
  return cell;
}

export const invites: View = {
  id: "invites",
  title: "Invites",
  visible: (s) => s.me?.admin === true,
  refreshOn: ["member_joined"],
  async render(root, state, redraw) {
    const { invites: list } = await get<InvitesView>("/v1/dashboard/invites");
    const result = h("div", { "data-testid": "invite-result" }, created ? resultPanel(created) : null);
    /** Draws the view again after an action (after any draw under way; a failure is shown in
     *  the view); the control used is gone, so focus goes to `then` (the new link), else to the
     *  view itself. */
    const rerender = (then?: string) => void redraw().then(() => (then ? root.querySelector<HTMLElement>(then) : root)?.focus());
    const rows = [...list].reverse().map((i) => {
      const st = inviteState(i);
      const revoke = revokeCell(i.inviteId, st === "active", () => rerender());
      return h(
        "tr",
        { "data-testid": "invite-row", "data-invite-id": i.inviteId, "data-state": st },
        h("td", { class: "mono", text: i.inviteId }),
        h("td", { text: i.role }),
        h("td", { "data-testid": "invite-uses", text: `${Math.max(0, i.maxUses - i.usedCount)} of ${i.maxUses} left` }),
        h("td", {}, h("span", { class: `badge ${st === "active" ? "idle" : "offline"}`, "data-testid": "invite-state", text: st })),
        h("td", { text: when(i.expiresAt * 1000) }),
        h("td", {}, revoke),
      );
    });
    show(
      root,
      h("h2", { text: "New invite" }),
      createForm(state, (links) => {
        created = links;
        rerender('[data-testid="invite-link"]');
      }),
      result,
      h("h2", { text: "Invites" }),
      table("Invites", ["id", "role", "uses left", "state", "expires", "action"], rows, "No invites yet."),
    );
  },
};
