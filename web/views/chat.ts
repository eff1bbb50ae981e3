// #general, end to end in the browser: posts are opened and sealed here with the keys from the
// login link; the broker relays ciphertext. Peer text is shown as text. Each post is labelled with
// the key that signed it (a display name proves nothing: anyone may pick "alice"), and the name of
// the member holding that key.
import { ago, fullOnRequest, h, peerText, show } from "../lib/dom.ts";
import { ApiError, get, post } from "../lib/api.ts";
import { keyPrefix, openPost, sameName, sealPost, type Post } from "../lib/chat.ts";
import type { MeshView, PageState } from "../lib/types.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { ownerTabFix } from "../../src/client/key-gap.ts";
import type { View } from "./view.ts";
import { departure } from "../lib/members.ts";

const TOPIC = "general";
/** Posts shown, the newest (the broker's page size for the dashboard; a page may hold fewer). */
const PAGE = 100;
/** Longest post the page sends (the broker's frame limit is far above it). */
const MAX_CHARS = 8_000;

type History = { messages: MessagePushFrame[]; lastOffset: number; earliestOffset: number; historyLost: boolean };
type Member = MeshView["members"][number];
/** What is drawn once per visit of the tab; polls and live events change `list` only, so that the
 *  post box keeps its text, caret, focus and error. `list` is a polite log: a post already shown
 *  keeps its element (its time is updated in place), so only new posts are read out. */
type Mounted = { el: HTMLElement; list: HTMLElement; posts: HTMLElement; none: HTMLElement; skip: HTMLElement; notes: HTMLElement[]; status: HTMLElement; foot: HTMLElement; composer: HTMLElement | null };

/** What the sender badges mean: said in words under the posts while one of them carries the
 *  badge, and the badge's description (a tooltip reaches neither the keyboard nor a touch screen). */
const NOTES = [
  { id: "chat-note-former", badge: "chat-former", text: "Left, removed or banned: the key that signed the post is no longer a member's, and cannot post any more." },
  { id: "chat-note-same-name", badge: "chat-same-name", text: "“Also named”: more than one member goes by this name; tell them apart by the key." },
] as const;

const mounted = new WeakMap<HTMLElement, Mounted>();

async function load(): Promise<{ messages: MessagePushFrame[]; members: Member[] }> {
  const page = (after: number) => get<History>(`/v1/dashboard/topics/${TOPIC}/history?after=${after}`);
  const [first, mesh] = await Promise.all([page(0), get<MeshView>("/v1/dashboard/mesh")]);
  // Show the newest PAGE posts: start over from there when there are more posts than that (or the
  // oldest ones are no longer retained). A page holds at most about 1 MiB of ciphertext (protocol
  // §4.3.15), so read on from its last post until the topic's last one.
  let history = first.historyLost || first.lastOffset > PAGE ? await page(Math.max(first.earliestOffset - 1, first.lastOffset - PAGE)) : first;
  const messages = [...history.messages];
  for (let last = messages.at(-1)?.topicOffset; last !== undefined && last < history.lastOffset && messages.length < PAGE; last = messages.at(-1)?.topicOffset) {
    history = await page(last);
    if (history.historyLost || history.messages.length === 0) break;
    messages.push(...history.messages);
  }
  return { messages, members: mesh.members };
}

/** The sender of a post: name and key prefix of the member whose key signed it, marked when it is
 *  the viewer's own key, the owner's key (as the viewer's own config records it), or shares its
 *  name with another member. A post that does not verify names no one: the name and key the broker
 *  gives are shown as its claim (not in parentheses, which an opened key would split). */
function senderLabel(p: Post, members: Member[], state: PageState): HTMLElement {
  if (!p.signer) {
    return h("span", { class: "sender" }, h("strong", { class: "error", "data-testid": "chat-sender", text: "unverified sender" }), " ", h("span", { class: "muted" }, "— the broker says “", peerText(p.claimed.name), "”, ", fullOnRequest(keyPrefix(p.claimed.memberKey), p.claimed.memberKey, "key", { class: "mono", "data-testid": "chat-claimed-key" })));
  }
  const key = p.signer.memberKey;
  const member = members.find((m) => m.pubkey === key);
  const name = member?.displayName ?? "not a member";
  // Twins are members who could post under the name now: a key that left or was removed can
  // never post again, so a rejoined "carol" is not her own twin. A post of such a key says so.
  const former = member && member.revokedAt !== null ? departure(member) : null;
  const twins = member && !former ? members.filter((m) => m.pubkey !== key && m.revokedAt === null && sameName(m.displayName, name)) : [];
  return h(
    "span",
    { class: "sender" },
    h("strong", { "data-testid": "chat-sender" }, peerText(name)),
    " ",
    fullOnRequest(keyPrefix(key), key, "key", { class: "mono key", "data-testid": "chat-key" }),
    key === state.keys?.publicKey ? h("span", { class: "badge you", "data-testid": "chat-mine", text: "you" }) : null,
    key === state.keys?.ownerPubkey ? h("span", { class: "badge", text: "owner" }) : null,
    former ? h("span", { class: "badge offline", "data-testid": "chat-former", "aria-describedby": NOTES[0].id, text: former }) : null,
    twins.length > 0 ? h("span", { class: "badge bad", "data-testid": "chat-same-name", "aria-describedby": NOTES[1].id }, `${twins.length === 1 ? "another member is" : `${twins.length} other members are`} also named “`, peerText(name), "”") : null,
    p.signer.sessionKey ? h("span", { class: "muted" }, " via session ", fullOnRequest(keyPrefix(p.signer.sessionKey), p.signer.sessionKey, "session key", { class: "mono", "data-testid": "chat-session-key" })) : null,
  );
}

/** A post as a list item, its time in a <time> that later draws update in place. */
function postRow(p: Post, members: Member[], state: PageState): HTMLLIElement {
  const key = p.signer?.memberKey ?? "";
  const name = p.signer ? (members.find((m) => m.pubkey === key)?.displayName ?? "") : "";
  return h(
    "li",
    { class: `post${key && key === state.keys?.publicKey ? " mine" : ""}`, "data-testid": "chat-post", "data-from": name, "data-key": key, "data-mine": String(key !== "" && key === state.keys?.publicKey) },
    senderLabel(p, members, state),
    " ",
    h("time", { class: "muted", datetime: new Date(p.at).toISOString(), text: ago(p.at) }),
    p.body !== null ? h("div", { class: "body", text: p.body }) : h("div", { class: "error", text: `cannot be opened here (${p.problem})` }),
  );
}

/** Brings the log `m.posts` up to `rows` (keyed by message id): new posts are appended, gone ones
 *  removed, a post shown already gets its new time in place, and is replaced only when what it
 *  says changed (its sender left, say). */
function drawPosts(m: Mounted, rows: [id: string, row: HTMLLIElement][]): void {
  const shown = new Map([...m.posts.children].map((li) => [(li as HTMLElement).dataset.id!, li as HTMLLIElement]));
  const wanted = new Set(rows.map(([id]) => id));
  for (const [id, li] of shown) if (!wanted.has(id)) li.remove();
  const sig = (li: HTMLLIElement) => [...li.childNodes].filter((n) => n.nodeName !== "TIME").map((n) => n.textContent).join("|");
  for (const [id, row] of rows) {
    row.dataset.id = id;
    const old = shown.get(id);
    if (!old) m.posts.appendChild(row);
    else if (sig(old) !== sig(row)) old.replaceWith(row);
    else {
      const [was, now] = [old.querySelector("time")!, row.querySelector("time")!];
      if (was.textContent !== now.textContent) was.textContent = now.textContent;
    }
  }
  m.none.hidden = rows.length > 0;
  m.skip.hidden = rows.length === 0; // nothing to skip
  NOTES.forEach((n, i) => (m.notes[i]!.hidden = !m.posts.querySelector(`[data-testid="${n.badge}"]`)));
}

function composer(state: PageState, onSent: () => void): HTMLElement {
  const text = h("textarea", { name: "post", maxlength: MAX_CHARS, rows: 2, placeholder: "End-to-end encrypted", "data-testid": "chat-input" });
  const error = h("span", { class: "error", role: "alert", "data-testid": "chat-error" });
  const send = h("button", { type: "submit", class: "primary", "data-testid": "chat-send", text: "Post" });
  const form = h("form", { class: "inline panel" }, h("label", { class: "grow" }, `Message #${TOPIC}`, text), send, error);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = text.value.trim();
    // One post in flight at a time: a double click (or a submit however made) while the first is
    // under way would post the text twice, each under its own message id. aria-disabled, not
    // disabled: a disabled button loses focus, and the keyboard would land at the page's top.
    if (!body || send.getAttribute("aria-disabled") === "true") return;
    error.textContent = "";
    send.setAttribute("aria-disabled", "true");
    void (async () => {
      try {
        await post(`/v1/dashboard/topics/${TOPIC}/messages`, sealPost(state.me!.mesh.id, state.keys!, TOPIC, body, state.me!.mesh.keyEpoch));
        // The text stays until it was posted; what was typed meanwhile stays too.
        if (text.value.trim() === body) text.value = "";
        onSent();
      } catch (err) {
        error.textContent = (err as Error).message;
      } finally {
        send.removeAttribute("aria-disabled");
      }
    })();
  });
  return form;
}

/** A link past the posts, shown when focused: each post's key is a Tab stop, so without it a
 *  keyboard reaches the post box after every post's. It lands in the box, or on what says why
 *  this tab may not post. */
function skipTo(foot: HTMLElement): HTMLElement {
  const link = h("a", { href: "#", class: "skip", "data-testid": "chat-skip", text: "Skip the posts, to the post box" });
  link.addEventListener("click", (e) => {
    e.preventDefault();
    (foot.querySelector("textarea") ?? foot).focus();
  });
  return link;
}

/** Draws the view once, with the posts first read already in the log: a log announces what is
 *  added to it after it is in the page, and the history is not news. */
function mount(root: HTMLElement, rows: [string, HTMLLIElement][]): Mounted {
  const posts = h("ol", { class: "posts" });
  const none = h("p", { class: "muted", text: "No posts yet." });
  const list = h("div", { class: "panel chat", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": `Posts in #${TOPIC}`, "data-testid": "chat-list" }, none, posts);
  const notes = NOTES.map((n) => h("p", { class: "muted", id: n.id, "data-testid": n.id, hidden: true, text: n.text }));
  const status = h("p", { class: "error", role: "status", "data-testid": "chat-status" });
  const foot = h("div", { tabindex: "-1" });
  const skip = skipTo(foot);
  const el = h("div", {}, h("h2", { text: `#${TOPIC}` }), h("p", { class: "muted", text: `Opened in this page with your keys; the broker sees only ciphertext. Each post shows the key that signed it.` }), skip, list, ...notes, status, foot);
  const m: Mounted = { el, list, posts, none, skip, notes, status, foot, composer: null };
  drawPosts(m, rows);
  show(root, el);
  mounted.set(root, m);
  return m;
}

/** The post box, or why this tab may not post: after a rotation, a post under this tab's older key
 *  would be readable by the removed member. */
function drawFoot(m: Mounted, state: PageState, redraw: () => Promise<void>): void {
  const mine = Math.max(...state.keys!.meshKeys.map((k) => k.epoch));
  if (mine < state.me!.mesh.keyEpoch) {
    const epoch = state.me!.mesh.keyEpoch;
    // Members get the key from the owner; the owner from nobody (key-gap.ts).
    const fix = state.me!.member.role === "owner" ? ownerTabFix(mine, epoch) : "Run `claudemesh inbox` (it brings the new key), then open a fresh link from `claudemesh dashboard`.";
    const stale = `The mesh key was rotated to epoch ${epoch}; this tab holds epoch ${mine}, so it cannot post. ${fix}`;
    m.composer = null;
    show(m.foot, h("p", { class: "error", role: "alert", "data-testid": "chat-stale-key", text: stale }));
  } else if (!m.composer) {
    // Shows the post at once: a redraw after any under way (a re-read that failed says so).
    m.composer = composer(state, () => void redraw());
    show(m.foot, m.composer);
  }
}

/** Why this tab cannot show #general, or null. */
function missingKeys(state: PageState): HTMLElement | null {
  if (!state.keys) return h("p", { class: "muted", "data-testid": "chat-nokeys", text: "Posts are end-to-end encrypted with keys this tab does not hold. Open a fresh link from `claudemesh dashboard` in this tab." });
  if (state.keys.meshKeys.length > 0) return null;
  return h("p", { class: "error", "data-testid": "chat-nomeshkey", text: "There is no mesh key in this tab: the link came from a machine that has not received this mesh's keys, so posts can be neither read nor written here. Run `claudemesh dashboard` on a machine that holds the keys (`claudemesh inbox` brings them to one that is waiting for them)." });
}

export const chat: View = {
  id: "chat",
  title: "#general",
  visible: (s) => s.me !== null,
  // The dashboard is not a peer, so posts are not pushed to it: it re-reads while shown.
  pollMs: 3_000,
  refreshOn: ["member_joined", "member_revoked", "key_rotated"],
  async render(root, state, redraw) {
    const missing = missingKeys(state);
    if (missing) return show(root, missing);
    let m = mounted.get(root);
    if (m && m.el.parentElement !== root) m = undefined; // another view was drawn since
    let data: Awaited<ReturnType<typeof load>>;
    try {
      data = await load();
    } catch (err) {
      // Once drawn, a failed re-read is shown above the post box instead of replacing it; an ended
      // session is the page's business (it says so in place of the view).
      if (!m || (err instanceof ApiError && err.status === 401)) throw err;
      m.status.textContent = `Could not re-read #${TOPIC}: ${(err as Error).message}`;
      return;
    }
    const rows = data.messages.map((msg): [string, HTMLLIElement] => [msg.messageId, postRow(openPost(msg, state.keys!, TOPIC), data.members, state)]);
    if (m) drawPosts(m, rows);
    else m = mount(root, rows);
    if (m.status.textContent) m.status.textContent = "";
    drawFoot(m, state, redraw);
  },
};
