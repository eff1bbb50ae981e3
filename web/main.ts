// The dashboard page: sign in from a login link, then show the member's mesh in tabs that redraw on
// live events; broker-wide views for the operator. Everything comes from /v1/dashboard on this
// origin (the CSP allows nothing else).
import { ApiError, get, post, showMember } from "./lib/api.ts";
import { h, peerText, show, type Child } from "./lib/dom.ts";
import { showJoin } from "./lib/join.ts";
import { forgetKeys, loadKeys } from "./lib/keys.ts";
import { startLive, type LiveEvent } from "./lib/live.ts";
import { consumeLoginFragment } from "./lib/login.ts";
import { guardSession } from "./lib/session-guard.ts";
import { brokerAway, throttled, untilAnswered } from "./lib/until-answered.ts";
import { markTabs, tabKeys } from "./lib/tabs.ts";
import { stripInvisible } from "../src/client/untrusted-text.ts";
import { serialDraws } from "./lib/serial-draws.ts";
import type { Me, PageState } from "./lib/types.ts";
import { VIEWS } from "./views/index.ts";
import type { View } from "./views/view.ts";

const byId = (id: string) => document.getElementById(id)!;

/** The window's title: what is shown, then the mesh when there is one ("#general – Shop team –
 *  claudemesh"), so that a window list or a screen reader tells tabs apart. */
function titled(...parts: (string | null | undefined)[]): void {
  document.title = [...parts.filter((p): p is string => !!p).map((p) => stripInvisible(p)), "claudemesh"].join(" – ");
}

function signedOut(root: HTMLElement, loginError: string | null): void {
  titled("Sign in");
  show(
    root,
    h("h2", { text: "Sign in" }),
    loginError ? h("p", { class: "error", role: "alert", "data-testid": "login-error", text: loginError }) : null,
    h("p", { text: "Run this where your claudemesh keys are, and open the link it prints (it works once, within 5 minutes):" }),
    h("pre", { class: "panel mono", text: "claudemesh dashboard --mesh <slug>" }),
    h("p", { class: "muted", text: "Operators: use the Operator tab with the token from `claudemesh serve` or `claudemesh admin token`." }),
  );
}

/** Shows one view at a time in `first`'s place. Each selection of a tab gets a new element for
 *  its view (the same id and place): a render still waiting for the broker when another tab is
 *  picked draws, or reports its error, into the element it was given, which is no longer in the
 *  page, never over the view picked since. Within one selection, draws run one at a time
 *  (lib/serial-draws.ts): a poll, a live event or a post that asks for a redraw while one is
 *  under way gets the next one, so an older answer is never drawn over a newer one. */
function router(state: PageState, first: HTMLElement, nav: HTMLElement) {
  let root = first;
  let current: View | null = null;
  /** Asks for a redraw of the shown view. */
  let redrawShown: () => Promise<void> = async () => {};
  let poll: ReturnType<typeof setInterval> | null = null;
  let pending: ReturnType<typeof setTimeout> | null = null;
  let halted = false;
  /** Why the shown view may be out of date: a re-read failed after it was drawn. One polite status
   *  beside the view, whose text changes only when the reason does. */
  const stale = h("p", { class: "error stale", role: "status", "data-testid": "view-stale" });
  const sayStale = (text: string) => void (stale.textContent !== text && (stale.textContent = text));
  /** Draws `v` in `el`; `shown.drawn` says whether it was drawn once since selected. */
  const draw = async (v: View, el: HTMLElement, again: () => Promise<void>, shown: { drawn: boolean }) => {
    if (halted) return;
    await v.render(el, state, again).then(
      () => {
        shown.drawn = true;
        if (el === root) sayStale("");
      },
      (err) => {
        if (halted) return;
        const ended = err instanceof ApiError && err.status === 401;
        // Signed out in another tab, expired, or the broker restarted: the keys serve no session.
        if (ended) {
          forgetKeys();
          state.keys = null;
        }
        if (el !== root) return;
        // A re-read that failed keeps what was drawn (and the keyboard in it), and says why.
        if (shown.drawn && !ended) return sayStale(`Could not re-read this view: ${(err as Error).message} What is shown may be out of date.`);
        show(el, h("p", { class: "error", role: "alert", "data-testid": "view-error", text: ended ? "Your dashboard session has ended, and your keys were removed from this tab. Run `claudemesh dashboard` for a new link." : (err as Error).message }));
      },
    );
  };
  const mark = () => markTabs(nav, current?.id);
  const select = (v: View) => {
    current = v;
    mark();
    titled(v.title, state.me?.mesh.name);
    if (!stale.isConnected) root.before(stale);
    sayStale("");
    // The view is the panel of its tab, busy (for assistive technology) until first drawn.
    const el = h("div", { id: "view", role: "tabpanel", "aria-labelledby": `tab-${v.id}`, "aria-busy": "true", tabindex: 0 }, h("p", { class: "muted", text: "Loading…" }));
    root.replaceWith(el);
    root = el;
    const shown = { drawn: false };
    const draws: () => Promise<void> = serialDraws(() => draw(v, el, draws, shown));
    redrawShown = draws;
    if (poll) clearInterval(poll);
    poll = v.pollMs ? setInterval(() => void draws(), v.pollMs) : null;
    void draws().finally(() => el.removeAttribute("aria-busy"));
  };
  let tabs: View[] = [];
  /** (Re)builds the tab bar for who is signed in now, keeping the shown view selected and a
   *  focused tab focused. */
  const build = () => {
    const focused = nav.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.view : undefined;
    tabs = VIEWS.filter((v) => v.visible(state));
    show(nav, ...tabs.map((v) => h("button", { type: "button", role: "tab", id: `tab-${v.id}`, "aria-controls": "view", "data-view": v.id, "data-testid": `tab-${v.id}`, text: v.title, onclick: () => select(v) })));
    mark();
    if (focused) nav.querySelector<HTMLElement>(`[data-view="${focused}"]`)?.focus();
  };
  tabKeys(nav, "Views");
  build();
  return {
    start: () => tabs[0] && select(tabs[0]),
    rebuild: build,
    /** Redraws the shown view (after the live stream missed events). */
    redraw: () => void redrawShown(),
    /** Redraws the shown view when a live event concerns it (coalescing bursts). */
    onEvent(e: LiveEvent) {
      const v = current;
      if (!v?.refreshOn?.includes(e.event)) return;
      if (pending) clearTimeout(pending);
      pending = setTimeout(() => current === v && void redrawShown(), 100);
    },
    /** Stops drawing for good: no polls, no redraws, no tabs. */
    halt() {
      halted = true;
      if (poll) clearInterval(poll);
      if (pending) clearTimeout(pending);
      show(nav);
      sayStale("");
      for (const a of ["role", "aria-labelledby", "aria-busy", "tabindex"]) root.removeAttribute(a);
    },
  };
}

/** The header: which mesh and member, the version, and Sign out while anyone is signed in. */
function drawHeader(state: PageState): void {
  show(byId("mesh-name"), state.me && peerText(state.me.mesh.name));
  show(byId("who"), ...(state.me ? [peerText(state.me.member.displayName), ` · ${state.me.member.role}`] : []));
  byId("footer").textContent = state.me ? `claudemesh ${state.me.version}` : "";
  byId("logout").hidden = !state.me && !state.operator;
}

/** Stops everything this tab does as the member it showed, forgets that member's keys, and says
 *  why in place of the view. */
function endTab(stop: () => void, testid: string, ...said: Child[]): void {
  const root = byId("view"); // the shown view's element (the router gives each selection its own)
  if (root.hidden) return; // already ended (several calls in flight may each learn why)
  stop();
  forgetKeys();
  byId("mesh-name").textContent = "";
  byId("who").textContent = "";
  // Beside the view, which is hidden: a render already under way may still land in it.
  root.hidden = true;
  // Focus goes to the banner (it can take focus, not be tabbed to): the control that had it may be
  // gone, and the keyboard would be left at the top of the page.
  const banner = h("p", { class: `banner bad ${testid}`, role: "alert", tabindex: -1, "data-testid": testid }, ...said);
  root.before(banner);
  banner.focus();
  titled("Session ended");
}

/** Another tab's login gave this browser's cookie to another member. */
const sessionTaken = (shown: Me, now: Me, stop: () => void) =>
  endTab(stop, "session-changed", "Signed in as ", peerText(now.member.displayName), " (mesh “", peerText(now.mesh.name), "”) in another tab — reload this tab. It showed ", peerText(shown.member.displayName), " in “", peerText(shown.mesh.name), "”; nothing more is read or posted as that member here, and its keys were removed from this tab.");

/** The `claudemesh dashboard` that served this page stopped: nothing can be read or posted through
 *  it any more, and the keys must not outlive it in this tab. */
const dashboardStopped = (stop: () => void) =>
  endTab(stop, "dashboard-stopped", "This dashboard was stopped (Ctrl-C in the terminal that served it), and your keys were removed from this tab. Run `claudemesh dashboard` again to open it.");

/** The member this page shows was removed from the mesh (kicked or banned): every call is refused
 *  from now on, so the view ends with the header and tabs, as for a session taken over. */
const memberRemoved = (stop: () => void) =>
  endTab(stop, "member-removed", "You were removed from this mesh, so this dashboard session has ended and your keys were removed from this tab. An owner or admin of the mesh can invite you again.");

/** Whom this browser's cookie stands for. Until the broker (or the `claudemesh dashboard` in front
 *  of it) answers, says why in place of the view and asks again: a page loaded during a broker
 *  restart comes up by itself. Never rejects. */
const whoIsSignedIn = (root: HTMLElement): Promise<{ me: Me | null; operator: boolean }> =>
  untilAnswered(
    root,
    async () => {
      const held = await get<{ member: boolean; operator: boolean }>("/v1/dashboard/session");
      return { me: held.member ? await get<Me>("/v1/dashboard/me") : null, operator: held.operator };
    },
    () => true,
  );

async function boot(): Promise<void> {
  const root = byId("view");
  // `/join` at the broker's root, or under the path of a reverse proxy in front of it.
  if (location.pathname.endsWith("/join")) return showJoin(root);
  // A link pasted into a tab that already shows this page differs from it only after `#`, so the
  // browser loads nothing: load the page again, which reads the link and removes it from the
  // address bar as on a first visit (the fragment navigation's history entry included).
  addEventListener("hashchange", () => location.hash && location.reload());
  let loginError: string | null = null;
  // A link opened while the broker does not answer is unused: it is sent again once it does. So
  // is one the login throttle refused (429), after its Retry-After, while the link is valid.
  const retryLogin = (expiresAt: number) => (err: unknown) => brokerAway(err) || (throttled(err) && Date.now() < expiresAt);
  await consumeLoginFragment((login, expiresAt) => untilAnswered(root, login, retryLogin(expiresAt))).catch((err: Error) => {
    // A throttled login gives up only once the link has expired: trying it again is no use.
    loginError = throttled(err) ? `${err.message} The link expired meanwhile: run \`claudemesh dashboard\` for a new one.` : err.message;
  });
  const state: PageState = { me: null, keys: null, operator: false, changed: () => {} };
  const held = await whoIsSignedIn(root);
  state.me = held.me;
  state.operator = held.operator;
  if (state.me) state.keys = loadKeys(state.me.mesh.id, state.me.member.pubkey);
  drawHeader(state);
  byId("logout").addEventListener("click", () => {
    forgetKeys();
    void post("/v1/dashboard/logout").finally(() => location.reload());
  });
  const r = router(state, root, byId("tabs"));
  state.changed = () => {
    drawHeader(state);
    r.rebuild();
  };
  // A refused link in a browser that is still signed in (the same link opened in a second tab):
  // without this the tab would show the old session silently, lacking the link's keys.
  if (loginError && (state.me || state.operator)) root.before(h("p", { class: "banner bad", role: "alert", "data-testid": "login-error", text: `${loginError} This tab shows the session this browser was already signed in with, without the keys the link carries: #general and new invites need a link that was not used yet.` }));
  if (state.me || state.operator) r.start();
  else signedOut(root, loginError);
  if (state.me) {
    const me = state.me;
    // From here on every call names this member, and the broker refuses it once the cookie is
    // another's; the live stream's `ready` is compared too (docs/dashboard.md, "Signing in").
    let stopLive = () => {};
    const halt = () => {
      stopLive();
      r.halt();
      state.keys = null;
    };
    const guard = guardSession(me, (now) => sessionTaken(me, now, halt));
    showMember(me.mesh.id, me.member.memberId, () => void guard.check(), () => memberRemoved(halt));
    const onEvent = (e: LiveEvent) => {
      // The chat refuses to post under an older key than the mesh's (views/chat.ts).
      if (e.event === "key_rotated" && typeof e.data.epoch === "number") me.mesh.keyEpoch = Math.max(me.mesh.keyEpoch, e.data.epoch);
      r.onEvent(e);
    };
    stopLive = startLive(onEvent, byId("live"), () => r.redraw(), guard.isMine, () => dashboardStopped(halt));
  }
}

void boot();
