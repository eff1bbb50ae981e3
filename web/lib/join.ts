// /join#<invite>: the browser form of an invite link. The fragment (which holds the invite secret)
// never reached the broker; the page only shows the command that joins with it.
import { h, show } from "./dom.ts";

/** An invite's payload is base64url; anything else in the fragment is not an invite. Checked, not
 *  quoted: the command below is pasted into a shell, and whoever sent the link chose the URL. */
const INVITE_FRAGMENT = /^#[A-Za-z0-9_-]+={0,2}$/;

export function showJoin(root: HTMLElement): void {
  if (!INVITE_FRAGMENT.test(location.hash)) {
    show(root, h("p", { class: "error", "data-testid": "join-error", text: "This is not a claudemesh invite link: the part after # is damaged. Ask for a new link." }));
    return;
  }
  const link = `${location.origin}${location.pathname}${location.hash}`;
  const command = `claudemesh join '${link}'`;
  const area = h("textarea", { readonly: true, class: "mono" });
  area.value = command;
  show(
    root,
    h("h2", { text: "You were invited to a claudemesh mesh" }),
    h("p", { text: "Join from a terminal on the machine where your agents run (install claudemesh first):" }),
    h("div", { class: "panel invite-result" }, h("div", { class: "link" }, area)),
    h("p", { class: "muted", text: "The invite's secret is in this address after the #, which browsers never send to the server. Anyone with the link can join until it is used up." }),
  );
}
