// Invites (owner and admin): create one here — signed in this page with your member key, the mesh
// keys sealed for the link holder — with a QR code and a copy button; list the open ones with uses
// left (the closed ones too on request), a batch at a time; revoke (after a confirming second click).
import { h, show, table, when } from "../lib/dom.ts";
import { post } from "../lib/api.ts";
import { readBatches } from "../lib/invite-pages.ts";
import { makeInvite } from "../lib/invite.ts";
import { qrSvg } from "../lib/qr.ts";
import type { PageState } from "../lib/types.ts";
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

/** How long Copy link says "Copied". */
const COPIED_MS = 3_000;

async function copy(text: string, area: HTMLTextAreaElement, button: HTMLButtonElement, said: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API outside a secure context (plain http to a remote host): select instead.
    area.select();
    document.execCommand("copy");
  }
  // Said once, then back to "Copy link", so that a second copy is said again.
  button.textContent = "Copied";
  said.textContent = "The link was copied.";
  setTimeout(() => {
    button.textContent = "Copy link";
    said.textContent = "";
  }, COPIED_MS);
}

function resultPanel(links: { link: string }): HTMLElement {
  const area = h("textarea", { readonly: true, "aria-label": "Invite link", "data-testid": "invite-link" });
  area.value = links.link;
  const button = h("button", { type: "button", "data-testid": "invite-copy", text: "Copy link" });
  const said = h("span", { class: "muted", role: "status", "data-testid": "invite-copied" });
  button.addEventListener("click", () => void copy(links.link, area, button, said));
  return h(
    "div",
    { class: "panel invite-result" },
    h("div", { class: "qr" }, qrSvg(links.link)),
    h("div", { class: "link" }, h("strong", { text: "Invite link" }), area, button, " ", said, h("p", { class: "muted", text: "Send it over a channel you trust; whoever holds it can join until it is used up. The QR code holds the same link. Join from a terminal with: claudemesh join - (then paste the link and press Enter, which keeps it out of the process list and shell history)." })),
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

/** What is drawn once per visit of the tab: the form keeps what is being typed in it, and the new
 *  link its Copy state; live events redraw the list. `asking` is the invite whose Revoke question
 *  is open, which a redraw keeps open. `closed`: the closed invites are listed too (the box that
 *  says so is drawn once, and keeps focus); `batches`: how many batches the list shows, which a
 *  redraw reads again; `note` says what the last revoke did (its row may leave the list). */
type Mounted = { el: HTMLElement; result: HTMLElement; list: HTMLElement; note: HTMLElement; link: { link: string } | null; asking: string | null; closed: boolean; batches: number };

const mounted = new WeakMap<HTMLElement, Mounted>();

/** Revoke, in two steps: a revoked invite cannot be restored, so the first click only asks
 *  (with the id, and Cancel or Escape); the second revokes. No browser dialog: a page may be
 *  barred from opening them, which would leave nothing revocable. While the revoke is under way
 *  the button stays focused (aria-disabled, not disabled, which would drop focus to the page); a
 *  refusal is said in an alert beside it. */
function revokeCell(inviteId: string, active: boolean, m: Mounted, onDone: () => void): HTMLElement {
  const id = `${inviteId.slice(0, 8)}…`;
  const ask = h("button", { type: "button", class: "danger", "aria-label": `Revoke invite ${id}`, "data-testid": "invite-revoke", "data-invite-id": inviteId, disabled: !active, text: "Revoke" });
  const said = h("span", { id: `revoke-${inviteId}`, text: `Nobody will be able to join with ${id} any more.` });
  const sure = h("button", { type: "button", class: "danger", "aria-describedby": said.id, "data-testid": "invite-revoke-confirm", "data-invite-id": inviteId, text: "Revoke for good" });
  const cancel = h("button", { type: "button", "data-testid": "invite-revoke-cancel", "data-invite-id": inviteId, text: "Cancel" });
  const error = h("span", { class: "error", role: "alert", "data-testid": "invite-revoke-error" });
  const question = h("span", { "data-testid": "invite-revoke-question" }, said, " ", sure, " ", cancel, " ", error);
  const cell = h("span", {}, active && m.asking === inviteId ? question : ask);
  // The button pressed is replaced: focus goes to what replaces it, not back to the page's top.
  const asking = (on: boolean) => {
    m.asking = on ? inviteId : null;
    show(cell, on ? question : ask);
    (on ? sure : ask).focus();
  };
  ask.addEventListener("click", () => asking(true));
  cancel.addEventListener("click", () => asking(false));
  question.addEventListener("keydown", (e) => e.key === "Escape" && (e.preventDefault(), asking(false)));
  sure.addEventListener("click", () => {
    if (sure.getAttribute("aria-disabled") === "true") return;
    sure.setAttribute("aria-disabled", "true");
    error.textContent = "";
    void post(`/v1/dashboard/invites/${encodeURIComponent(inviteId)}/revoke`).then(
      () => {
        m.asking = null;
        m.note.textContent = `Revoked invite ${inviteId}: nobody can join with it any more.${m.closed ? "" : " It is listed with the closed invites."}`;
        onDone();
      },
      (err) => {
        sure.removeAttribute("aria-disabled");
        error.textContent = (err as Error).message;
      },
    );
  });
  return cell;
}

export const invites: View = {
  id: "invites",
  title: "Invites",
  visible: (s) => s.me?.admin === true,
  refreshOn: ["member_joined"],
  async render(root, state, redraw) {
    /** Draws the view again after an action (after any draw under way; a failure is shown in
     *  the view); the control used may be gone, so focus goes to `then` when it is there (the new
     *  link, the box, Show more), else to the view itself. */
    const rerender = (then?: string) => void redraw().then(() => ((then ? root.querySelector<HTMLElement>(then) : null) ?? root).focus());
    // Read before anything is drawn, with what this visit of the tab shows (the first batch of the
    // open invites when it starts): a refused read is shown by the caller, as before pages.
    const shown = mounted.get(root);
    const visit = shown && shown.el.parentElement === root ? shown : null;
    const { invites: list, next } = await readBatches(!(visit?.closed ?? false), visit?.batches ?? 1);
    let m = visit;
    if (!m) {
      const result = h("div", { "data-testid": "invite-result" });
      const listed = h("div");
      const note = h("p", { class: "muted note", role: "status", "data-testid": "invite-note" });
      const form = createForm(state, (links) => {
        created = links;
        rerender('[data-testid="invite-link"]');
      });
      const closed = h("input", { type: "checkbox", "data-testid": "invite-closed" });
      const el = h("div", {}, h("h2", { text: "New invite" }), form, result, h("h2", { text: "Invites" }), h("label", { class: "check" }, closed, " Show revoked, used-up and expired invites too"), note, listed);
      const made: Mounted = { el, result, list: listed, note, link: null, asking: null, closed: false, batches: 1 };
      closed.addEventListener("change", () => {
        made.closed = closed.checked;
        made.batches = 1;
        made.note.textContent = "";
        rerender('[data-testid="invite-closed"]');
      });
      m = made;
      show(root, el);
      mounted.set(root, m);
    }
    const mine = m;
    if (m.link !== created) show(m.result, created ? resultPanel(created) : null);
    m.link = created;
    const rows = list.map((i) => {
      const st = inviteState(i);
      return h(
        "tr",
        { "data-testid": "invite-row", "data-invite-id": i.inviteId, "data-state": st },
        h("td", { class: "mono", text: i.inviteId }),
        h("td", { text: i.role }),
        h("td", { "data-testid": "invite-uses", text: `${Math.max(0, i.maxUses - i.usedCount)} of ${i.maxUses} left` }),
        h("td", {}, h("span", { class: `badge ${st === "active" ? "idle" : "offline"}`, "data-testid": "invite-state", text: st })),
        h("td", { text: when(i.expiresAt * 1000) }),
        h("td", {}, revokeCell(i.inviteId, st === "active", mine, () => rerender())),
      );
    });
    // Oldest first, as the broker lists them: Show more reads on after the last row.
    const more = next === null ? null : h("button", { type: "button", "data-testid": "invite-more", text: "Show more" });
    more?.addEventListener("click", () => {
      mine.batches++;
      rerender('[data-testid="invite-more"]');
    });
    show(m.list, table("Invites", ["id", "role", "uses left", "state", "expires", "action"], rows, m.closed ? "No invites yet." : "No open invites."), more);
  },
};
