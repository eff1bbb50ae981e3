// Every value the dashboard shows shortened can be had whole, from the keyboard and by a screen
// reader, and copied (docs/dashboard.md "Accessibility", "Nothing only in a tooltip"), in chromium.
// The test does not list the places: it takes every key, id and hash the broker's answers hold,
// walks the text and labels of each view for one of them cut short, and asks of each that it
// opens, as a disclosure, to the whole of it (Enter shows it on a line that can be selected, and
// the accessibility tree then holds it), or sits in a table row that shows the whole of it.
import { expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { makeAttestation } from "../../src/client/credentials.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { aliceAndBrowser, showTab } from "../helpers/dashboard-page.ts";
import { dashboardSession, postToGeneral } from "../helpers/dashboard.ts";
import { addMember, connect, createInvite } from "../helpers/mesh.ts";
import { connectSession } from "../helpers/next-session.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** A shortened value met in a view: its start as shown, the whole of it, where it is (the nearest
 *  test id, else the tag) and how the whole is had: "disclosure" (its index among the view's
 *  disclosures), "row" (the same table row shows it), or null (nowhere). */
type Met = { shown: string; whole: string; where: string; how: "row" | "disclosure" | null; index: number };

/** Every shortened value in the shown view, in its text and in its elements' labels. */
const walk = (page: Page, known: string[]): Promise<Met[]> =>
  page.evaluate((known) => {
    const view = document.getElementById("view")!;
    const summaries = [...view.querySelectorAll("details.full > summary")];
    const out: Met[] = [];
    const meet = (text: string, el: Element) => {
      for (const shown of text.match(/[A-Za-z0-9_-]{8,}/g) ?? []) {
        const whole = known.find((v) => v.length > shown.length && v.startsWith(shown));
        if (!whole) continue;
        const where = el.closest("[data-testid]")?.getAttribute("data-testid") ?? el.tagName.toLowerCase();
        const summary = el.closest("details.full > summary");
        const code = summary?.parentElement!.querySelector(".whole code");
        const row = el.closest("tr");
        const how = code?.textContent === whole ? "disclosure" : row && [...row.cells].some((c) => c.textContent!.trim() === whole) ? "row" : null;
        out.push({ shown, whole, where, how, index: how === "disclosure" ? summaries.indexOf(summary!) : -1 });
      }
    };
    const texts = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
    for (let n = texts.nextNode(); n; n = texts.nextNode()) meet(n.textContent!, n.parentElement!);
    for (const el of view.querySelectorAll("[aria-label], [aria-description], [alt], [placeholder]"))
      for (const a of ["aria-label", "aria-description", "alt", "placeholder"]) if (el.hasAttribute(a)) meet(el.getAttribute(a)!, el);
    return out;
  }, known) as Promise<Met[]>;

/** Opens disclosure `index` of the view from the keyboard and reads it: whether Tab reaches it,
 *  what it shows and what the accessibility tree holds once open, what selecting its value
 *  copies, and whether Enter closes it again. */
async function open(page: Page, index: number) {
  const summary = page.locator("#view details.full > summary").nth(index);
  const details = page.locator("#view details.full").nth(index);
  await summary.focus();
  const tabStop = await summary.evaluate((s) => (s as HTMLElement).tabIndex === 0 && document.activeElement === s);
  await page.keyboard.press("Enter");
  const shown = await details.evaluate((d) => {
    const whole = d.querySelector<HTMLElement>(".whole")!;
    return (d as HTMLDetailsElement).open && whole.checkVisibility() ? whole.innerText : null;
  });
  const tree = await details.ariaSnapshot();
  // Selected as a reader does, by dragging from its first character to its last (over the lines
  // a narrow column wraps it on), and copied with the keyboard. In sight first: a value opened on
  // the last row of the window would otherwise be dragged over below its edge.
  await details.locator(".whole code").scrollIntoViewIfNeeded();
  const [from, to] = await details.locator(".whole code").evaluate((c) => {
    const r = [...c.getClientRects()];
    return [{ x: r[0]!.left + 1, y: (r[0]!.top + r[0]!.bottom) / 2 }, { x: r.at(-1)!.right - 1, y: (r.at(-1)!.top + r.at(-1)!.bottom) / 2 }];
  });
  await page.mouse.move(from!.x, from!.y);
  await page.mouse.down();
  await page.mouse.move(to!.x, to!.y, { steps: 4 });
  await page.mouse.up();
  const selected = await page.evaluate(() => window.getSelection()!.toString());
  await page.keyboard.press("Control+C");
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  await summary.focus();
  await page.keyboard.press("Enter");
  const closed = await details.evaluate((d) => !(d as HTMLDetailsElement).open);
  return { tabStop, shown, tree, selected, copied, closed };
}

/** Every key, id and hash in the broker's answers to alice's dashboard session. */
async function knownValues(call: Awaited<ReturnType<typeof dashboardSession>>): Promise<string[]> {
  const found = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === "string" && /^[A-Za-z0-9_-]{16,}$/.test(v)) found.add(v);
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  for (const path of ["mesh", "audit", "invites", "grants", "topics"]) collect(await (await call("GET", `/v1/dashboard/${path}`)).json());
  return [...found];
}

test("every shortened key, id and hash on every view opens to the whole of it, from the keyboard, and can be selected", async () => {
  await using t = await aliceAndBrowser();
  const { b, alice, meshKey, page } = t;
  const [bob, dave] = [await addMember(b.url, alice, "bob"), await addMember(b.url, alice, "dave")];
  // #general: alice's post, bob's sealed with a key nobody has (an unverified sender the broker
  // names by his key), and one from a Claude Code session of alice's (signed by its session key).
  expect(await postToGeneral(b, alice, meshKey, "from alice")).toBe(201);
  expect(await postToGeneral(b, bob, crypto.getRandomValues(new Uint8Array(32)), "nobody can open this")).toBe(201);
  const sessionKeys = generateSigningKeypair();
  const session = await connectSession(b.url, alice, sessionKeys);
  const att = makeAttestation(alice.keys, sessionKeys.publicKey, Date.now() + 3_600_000);
  const id = randomId();
  const sealed = sealEnvelope({ mesh: alice.meshId, from: sessionKeys.publicKey, to: "#general", id, ts: Date.now(), kind: "text", body: "from alice's session", att }, { mySecret: sessionKeys.secretKey, meshKey: { epoch: 0, key: meshKey } });
  await session.client.request("send", { to: "#general", clientMessageId: id, ...sealed });
  // Grants & bans: a grant to bob and one to the session's key (each by name and key start), one
  // to a session of bob's that his entry overrides (naming his key beside it), and dave removed
  // by alice; two open invites (the list shows the open ones): one to ask to revoke, one whose
  // Revoke button names it.
  const bobSession = await connectSession(b.url, bob);
  const bobSessionKey = (await bobSession.client.request("list_peers", {})).peers.find((p) => p.kind === "session" && p.memberPubkey === bob.keys.publicKey)!.pubkey;
  const ws = await connect(b.url, alice);
  await ws.client.request("grant_set", { peer: bob.keys.publicKey, caps: ["dm"] });
  await ws.client.request("grant_set", { peer: sessionKeys.publicKey, caps: [] });
  await ws.client.request("grant_set", { peer: bobSessionKey, caps: ["topic"] });
  await ws.client.request("member_revoke", { memberId: dave.memberId, ban: false });
  await createInvite(b.url, alice, {}, ws);
  await createInvite(b.url, alice, {}, ws);
  const known = await knownValues(await dashboardSession(b, alice));
  expect(known).toContain(sessionKeys.publicKey);

  await t.br.context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.goto(t.link);
  await page.locator(sel("live"), { hasText: "live" }).waitFor();
  const met: Record<string, Met[]> = {};
  for (const view of ["overview", "chat", "topics", "invites", "grants", "audit", "charts"]) {
    await showTab(page, view);
    if (view === "chat") await page.locator(sel("chat-post")).nth(2).waitFor();
    if (view === "invites") await page.locator(sel("invite-revoke")).first().click(); // its question names the invite
    met[view] = await walk(page, known);
  }
  // Nothing cut short is left without its whole.
  const missed = Object.fromEntries(Object.entries(met).map(([view, m]) => [view, m.filter((x) => x.how === null).map((x) => `${x.where}: ${x.shown}`)]));
  expect(missed).toEqual({ overview: [], chat: [], topics: [], invites: [], grants: [], audit: [], charts: [] });
  // And the walk met what it should: each kind of shortened value, on its view.
  const places = Object.fromEntries(Object.entries(met).map(([view, m]) => [view, [...new Set(m.map((x) => `${x.where} (${x.how})`))].sort()]));
  expect(places).toEqual({
    overview: ["peer-key (disclosure)"],
    chat: ["chat-claimed-key (disclosure)", "chat-key (disclosure)", "chat-session-key (disclosure)"],
    topics: [],
    invites: ["invite-revoke (row)", "invite-revoke-question (row)"],
    grants: ["grant-overridden-by (disclosure)", "grant-peer (disclosure)"],
    audit: ["audit-hash (disclosure)", "audit-head (disclosure)"],
    charts: [],
  });

  // Each disclosure, opened from the keyboard: the whole value, said and selectable.
  for (const view of ["overview", "chat", "grants", "audit"]) {
    await showTab(page, view);
    if (view === "chat") await page.locator(sel("chat-post")).nth(2).waitFor();
    for (const m of met[view]!.filter((x) => x.how === "disclosure")) {
      const got = await open(page, m.index);
      expect({ where: m.where, ...got, shown: got.shown?.replace(/^[a-z ]+ /, "") }).toEqual({ where: m.where, tabStop: true, shown: m.whole, tree: expect.stringContaining(m.whole), selected: m.whole, copied: m.whole, closed: true });
    }
    // For the eye: the view with its shortened values open.
    for (const s of await page.locator("#view details.full > summary").all()) await s.click();
    await t.br.shot(page, `shortened-${view}`);
  }
  session.close();
  bobSession.close();
  ws.close();
  expect(t.br.problems).toEqual([]);
}, 120_000);
