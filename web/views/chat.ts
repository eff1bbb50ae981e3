// #general, end to end in the browser: posts are opened and sealed here with the keys from the
// login link; the broker relays ciphertext. Peer text is shown as text, labelled with its sender.
import { ago, h, show } from "../lib/dom.ts";
import { get, post } from "../lib/api.ts";
import { openPost, sealPost } from "../lib/chat.ts";
import type { PageState } from "../lib/types.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import type { View } from "./view.ts";

const TOPIC = "general";
/** Posts per history page (the broker's page size). */
const PAGE = 100;
/** Longest post the page sends (the broker's frame limit is far above it). */
const MAX_CHARS = 8_000;

type History = { messages: MessagePushFrame[]; lastOffset: number; earliestOffset: number; historyLost: boolean };

function composer(state: PageState, onSent: () => void): HTMLElement {
  const text = h("textarea", { name: "post", maxlength: MAX_CHARS, rows: 2, placeholder: `Message #${TOPIC} (end-to-end encrypted)`, "data-testid": "chat-input" });
  const error = h("span", { class: "error", "data-testid": "chat-error" });
  const form = h("form", { class: "inline panel" }, text, h("button", { type: "submit", class: "primary", "data-testid": "chat-send", text: "Post" }), error);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    error.textContent = "";
    void (async () => {
      try {
        await post(`/v1/dashboard/topics/${TOPIC}/messages`, sealPost(state.me!.mesh.id, state.keys!, TOPIC, body));
        text.value = "";
        onSent();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    })();
  });
  return form;
}

export const chat: View = {
  id: "chat",
  title: "#general",
  visible: (s) => s.me !== null,
  // The dashboard is not a peer, so posts are not pushed to it: it re-reads while shown.
  pollMs: 3_000,
  async render(root, state) {
    if (!state.keys) {
      show(root, h("p", { class: "muted", "data-testid": "chat-nokeys", text: "Posts are end-to-end encrypted with keys this tab does not hold. Open a fresh link from `claudemesh dashboard` in this tab." }));
      return;
    }
    if (state.keys.meshKeys.length === 0) {
      show(root, h("p", { class: "error", "data-testid": "chat-nomeshkey", text: "There is no mesh key in this tab: the link came from a machine that has not received this mesh's keys, so posts can be neither read nor written here. Run `claudemesh dashboard` on a machine that holds the keys (`claudemesh inbox` brings them to one that is waiting for them)." }));
      return;
    }
    const page = (after: number) => get<History>(`/v1/dashboard/topics/${TOPIC}/history?after=${after}`);
    let history = await page(0);
    // Show the newest page: start over from there when there are more posts than one page holds
    // (or the oldest ones are no longer retained).
    if (history.historyLost || history.lastOffset > PAGE) history = await page(Math.max(history.earliestOffset - 1, history.lastOffset - PAGE));
    const posts = history.messages.map((m) => openPost(m, state.keys!));
    const list = h(
      "div",
      { class: "panel chat", "data-testid": "chat-list" },
      posts.length === 0 ? h("p", { class: "muted", text: "No posts yet." }) : null,
      ...posts.map((p) =>
        h(
          "div",
          { class: "post", "data-testid": "chat-post", "data-from": p.from },
          h("strong", { text: p.from }),
          " ",
          h("span", { class: "muted", text: ago(p.at) }),
          p.body !== null ? h("div", { class: "body", text: p.body }) : h("div", { class: "error", text: `cannot be opened here (${p.problem})` }),
        ),
      ),
    );
    const intro = h("p", { class: "muted", text: `#${TOPIC}: opened in this page with your keys; the broker sees only ciphertext.` });
    // After a rotation, a post under this tab's older key would be readable by the removed member.
    const mine = Math.max(...state.keys.meshKeys.map((k) => k.epoch));
    if (mine < state.me!.mesh.keyEpoch) {
      const stale = `The mesh key was rotated to epoch ${state.me!.mesh.keyEpoch}; this tab holds epoch ${mine}, so it cannot post. Run \`claudemesh inbox\` (it brings the new key), then open a fresh link from \`claudemesh dashboard\`.`;
      show(root, intro, list, h("p", { class: "error", "data-testid": "chat-stale-key", text: stale }));
      return;
    }
    // Keep what is being typed across the periodic redraw.
    const typing = root.querySelector<HTMLTextAreaElement>('[data-testid="chat-input"]')?.value ?? "";
    const form = composer(state, () => void chat.render(root, state));
    form.querySelector("textarea")!.value = typing;
    const hadFocus = document.activeElement?.getAttribute("data-testid") === "chat-input";
    show(root, intro, list, form);
    if (hadFocus) form.querySelector("textarea")!.focus();
  },
};
