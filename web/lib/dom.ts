// Building the page without innerHTML: every string from the broker or a peer becomes a text node,
// so no display name, summary or cwd can inject markup (and the CSP forbids inline script anyway).
import { stripInvisible } from "../../src/client/untrusted-text.ts";

export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | ((e: Event) => void) | undefined | null>;

/** An element with attributes (`on…` keys become listeners) and children (strings as text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
}

/** Replaces the children of `el`. When that removes the focused element, focus goes to the new
 *  element that matches it (focusKey), else to `el` itself when it can take focus: a redraw never
 *  drops the keyboard to the top of the page. */
export function show(el: Element, ...children: Child[]): void {
  const had = document.activeElement;
  const key = had && had !== document.body && el.contains(had) ? focusKey(had) : null;
  el.replaceChildren();
  append(el, ...children);
  if (key !== null && !had!.isConnected) refocus(el, key);
}

/** Attributes that name a control the same way in each draw of it. */
const FOCUS_KEYS = ["data-testid", "name", "aria-label", "data-invite-id"];

/** A selector for `el` made of its tag and its naming attributes. */
function focusKey(el: Element): string {
  return el.tagName.toLowerCase() + FOCUS_KEYS.map((a) => (el.hasAttribute(a) ? `[${a}="${CSS.escape(el.getAttribute(a)!)}"]` : "")).join("");
}

function refocus(el: Element, key: string): void {
  const again = el.querySelector<HTMLElement>(key) ?? (el.hasAttribute("tabindex") ? (el as HTMLElement) : null);
  again?.focus({ preventScroll: true });
}

/** Redraws `el` as `children` would draw it, changing only the nodes that differ (text, attributes,
 *  or an element of another tag, which is replaced): focus, a table's sideways scroll and what a
 *  screen reader is reading stay where they were. For content without listeners only: a node
 *  that is kept keeps its old ones. */
export function patch(el: Element, ...children: Child[]): void {
  const next = document.createElement("div");
  append(next, ...children);
  patchChildren(el, [...next.childNodes]);
}

function patchChildren(el: Node, next: Node[]): void {
  const old = [...el.childNodes];
  next.forEach((n, i) => {
    const o = old[i];
    if (!o) el.appendChild(n);
    else if (o.nodeType !== n.nodeType || o.nodeName !== n.nodeName) el.replaceChild(n, o);
    else if (o instanceof CharacterData) {
      if (o.data !== (n as CharacterData).data) o.data = (n as CharacterData).data;
    } else if (o instanceof Element) {
      const e = n as Element;
      // A disclosure the reader opened stays open while it holds the same text: `open` is their
      // state, not the drawing's. One that holds another value now (rows shifted) closes.
      const keep = o instanceof HTMLDetailsElement && o.open && o.textContent === e.textContent ? "open" : null;
      for (const a of [...o.attributes]) if (!e.hasAttribute(a.name) && a.name !== keep) o.removeAttribute(a.name);
      for (const a of [...e.attributes]) if (o.getAttribute(a.name) !== a.value) o.setAttribute(a.name, a.value);
      patchChildren(o, [...e.childNodes]);
    }
  });
  for (const o of old.slice(next.length)) o.remove();
}

/** Text a peer chose (a display name, summary, directory, reason, mesh name…), for showing inline:
 *  without bidi controls and invisible characters, as the CLI shows it, and isolated in a <bdi>,
 *  so that neither those nor a right-to-left name can reorder the text beside it (a key prefix
 *  or a time read backwards). Text that was nothing but invisible characters says so. */
export const peerText = (text: string): HTMLElement => h("bdi", { text: stripInvisible(text) || (text ? "(invisible characters only)" : "") });

/** A long value (a key, an id, a hash) shown as `shown` (its start, or a name), the whole of it in
 *  a disclosure: Enter, Space, a click or a tap shows it as "`what` `full`", selectable for
 *  copying. Never only in a `title`: a tooltip reaches neither the keyboard nor a touch screen.
 *  `props` go on the summary (a test id, a class). */
export function fullOnRequest(shown: Child, full: string, what: string, props: Props = {}): HTMLDetailsElement {
  return h("details", { class: "full" }, h("summary", props, shown), h("span", { class: "whole" }, `${what} `, h("code", { text: full })));
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

/** A table named `name` with a header row; `rows` are arrays of cells (or a prepared <tr>). It sits
 *  in a box that scrolls sideways when the window is too narrow for it, so that the page itself
 *  does not; the box is a named region in the Tab order, so a keyboard can scroll it too. */
export function table(name: string, headers: string[], rows: (Child[] | HTMLTableRowElement)[], empty = "Nothing yet."): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted", text: empty });
  return h(
    "div",
    { class: "table-scroll", role: "region", "aria-label": name, tabindex: 0 },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { text: t })))),
      h("tbody", {}, ...rows.map((r) => (r instanceof HTMLTableRowElement ? r : h("tr", {}, ...r.map((c) => h("td", {}, c)))))),
    ),
  );
}

/** "12 s ago", "3 min ago", "2 h ago", else a local date: never "60 s", "60 min" or "24 h", since
 *  each unit is checked after rounding to it. */
export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const hours = Math.round(s / 3600);
  if (hours < 24) return `${hours} h ago`;
  return new Date(ms).toLocaleString();
}

export const when = (ms: number) => new Date(ms).toLocaleString();
export const short = (hex: string, n = 10) => (hex.length > n ? `${hex.slice(0, n)}…` : hex);
