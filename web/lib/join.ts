// /join#<invite>: the browser form of an invite link. The fragment (which holds the invite secret)
// never reached the broker; the page shows how to join with it from a terminal: `claudemesh join -`
// and the link pasted on its stdin, never the link as an argument, which would put the secret in
// the shell's history and in the process list other local users can read (`join -` reads the first
// line of stdin).
import { h, show } from "./dom.ts";

/** An invite's payload is base64url; anything else in the fragment is not an invite. Checked, not
 *  quoted: whoever sent the link chose the URL, and the person pastes it into a terminal. */
const INVITE_FRAGMENT = /^#[A-Za-z0-9_-]+={0,2}$/;

/** The command that joins with a link given on stdin. */
const JOIN_COMMAND = "claudemesh join -";

export function showJoin(root: HTMLElement): void {
  if (!INVITE_FRAGMENT.test(location.hash)) {
    show(root, h("p", { class: "error", "data-testid": "join-error", text: "This is not a claudemesh invite link: the part after # is damaged. Ask for a new link." }));
    return;
  }
  const link = `${location.origin}${location.pathname}${location.hash}`;
  const area = h("textarea", { readonly: true, class: "mono", "aria-label": "Invite link", "data-testid": "join-link" });
  area.value = link;
  show(
    root,
    h("h2", { text: "You were invited to a claudemesh mesh" }),
    h("p", { "data-testid": "join-steps" }, "Join from a terminal on the machine where your agents run (install claudemesh first): run ", h("code", { "data-testid": "join-command", text: JOIN_COMMAND }), ", paste the link, then Enter."),
    h("div", { class: "panel invite-result" }, h("div", { class: "link" }, area)),
    h("p", { class: "muted", text: "Pasted this way, the link stays out of your shell history and out of the process list, where other users of the machine could read it. The invite's secret is in this address after the #, which browsers never send to the server. Anyone with the link can join until it is used up." }),
  );
}
