// /join#<invite>: the browser form of an invite link. The fragment (which holds the invite secret)
// never reached the broker; the page only shows the command that joins with it.
import { h, show } from "./dom.ts";

export function showJoin(root: HTMLElement): void {
  const link = location.href;
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
