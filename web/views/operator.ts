// Broker-wide view for the operator: every mesh and the broker's health. Needs the operator token
// (printed by the first `claudemesh serve`; `claudemesh admin token` makes a new one), which is
// exchanged for an HttpOnly cookie and not kept by the page.
import { h, peerText, show, table, when } from "../lib/dom.ts";
import { get, post } from "../lib/api.ts";
import type { OperatorView, PageState } from "../lib/types.ts";
import type { View } from "./view.ts";

function signInForm(root: HTMLElement, state: PageState, redraw: () => Promise<void>): HTMLElement {
  const token = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "cmo_…", "data-testid": "operator-token" });
  const error = h("span", { class: "error", role: "alert", "data-testid": "operator-error" });
  const form = h("form", { class: "inline panel" }, h("label", {}, "operator token", token), h("button", { type: "submit", class: "primary", text: "Sign in as operator" }), error);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void post("/v1/dashboard/operator/login", { token: token.value.trim() }).then(
      () => {
        state.operator = true;
        state.changed(); // Sign out and the Charts tab, without a reload
        // The form (and the focused button) is replaced: focus goes to the view it became.
        return redraw().then(() => root.focus());
      },
      (err) => (error.textContent = (err as Error).message),
    );
  });
  return form;
}

export const operator: View = {
  id: "operator",
  title: "Operator",
  visible: () => true,
  async render(root, state, redraw) {
    if (!state.operator) {
      show(root, h("h2", { text: "Operator sign-in" }), h("p", { class: "muted", text: "Broker-wide views (all meshes, health) need the operator token: printed by the first `claudemesh serve`, or a new one from `claudemesh admin token` on the server." }), signInForm(root, state, redraw));
      return;
    }
    const v = await get<OperatorView>("/v1/dashboard/operator/overview");
    const card = (label: string, value: string | number) => h("div", { class: "card" }, h("div", { class: "n", text: value }), h("div", { class: "muted", text: label }));
    show(
      root,
      h("h2", { text: "Broker" }),
      h(
        "div",
        { class: "cards", "data-testid": "operator-overview" },
        card("version", v.version),
        card("uptime", `${Math.round(v.uptimeS / 60)} min`),
        card("database", v.health.writable ? "writable" : "NOT writable"),
        card("connections", v.connections),
        card("queued", v.queueDepth),
        card("meshes", v.meshes.length),
      ),
      h("h2", { text: "Meshes" }),
      table(
        "Meshes",
        ["name", "slug", "members", "connections", "key epoch", "created"],
        v.meshes.map((m) => h("tr", { "data-testid": "operator-mesh" }, h("td", {}, peerText(m.name)), h("td", { class: "mono", text: m.slug }), h("td", { text: m.activeMembers }), h("td", { text: m.connections }), h("td", { text: m.keyEpoch }), h("td", { text: when(m.createdAt) }))),
        "No meshes yet.",
      ),
    );
  },
};
