// The dashboard in a real browser (chromium via playwright-core), against a real broker, with login
// links made by the real CLI. Pins docs/dashboard.md: the link's fragment is removed at once and
// the session is an HttpOnly, SameSite=Strict cookie; peers and their status appear live; #general
// is read and posted end to end in the page, each post labelled with the key that signed it; an invite made in the page is one the CLI can join
// with, and it can be revoked; the audit chain shows as
// verified, and as broken at the right entry once tampered with; the page the CLI serves loads
// nothing from anywhere else (not even the broker: its calls go through the CLI) and violates no
// CSP rule. Screenshots: test-artifacts/dashboard/.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, dashboardServing, identities, ok, cliTeam } from "../helpers/cli.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { pageLink, postToGeneral } from "../helpers/dashboard.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { inviteRows } from "../helpers/invite-rows.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { parseInvite } from "../../src/client/invite-link.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { AUDIT_RECHECK_MS } from "../../src/protocol/limits.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** The peer row of `name`, once its status reads `status`. */
const waitPeer = (page: Page, name: string, status: string) => page.locator(`${sel("peer-row")}[data-name="${name}"] ${sel("peer-status")}`, { hasText: status }).waitFor({ timeout: 5_000 });

/** Connects as the member whose CLI config is in `dir`, the way a Claude Code machine would. */
function peerFrom(url: string, dir: string, name: string) {
  const e = loadConfig(dir).meshes[0]!;
  return connect(url, { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: name, role: e.role }, { cwd: `/home/${name}/src/shop`, hostname: `${name}-laptop` });
}

/** WCAG contrast ratio of an element's text colour against its background (both opaque rgb()). */
const contrastOf = (page: Page, selector: string) =>
  page.evaluate((s) => {
    const lum = (css: string) => {
      const [r, g, b] = css.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((c) => Number(c) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const style = getComputedStyle(document.querySelector(s)!);
    const [hi, lo] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x) as [number, number];
    return (hi + 0.05) / (lo + 0.05);
  }, selector);

describe("dashboard in a browser", () => {
  test("owner: CLI link → live peers → invite create, join, revoke → audit verified, then tampered", async () => {
    await using b = await startBroker();
    await using ids = identities(3);
    const [aliceDir, bobDir, carolDir] = ids.dirs as [string, string, string];
    const mesh = await cliMesh(b.url, [
      [aliceDir, "alice"],
      [bobDir, "bob"],
    ]);
    const alice = await peerFrom(b.url, aliceDir, "alice");
    const bob = await peerFrom(b.url, bobDir, "bob");
    // The page comes from the CLI on 127.0.0.1, never from the broker: the browser may reach only it.
    await using served = await dashboardServing(aliceDir);
    const { url, local } = served.json;
    const port = new URL(local).port;
    await using br = await launchBrowser(local.slice(0, -1));
    const page = br.page;

    // Log in: the fragment disappears, the keys stay in this tab, the cookie is out of script's reach.
    await page.goto(url);
    await waitPeer(page, "bob", "idle");
    await waitPeer(page, "alice", "idle");
    expect(page.url()).toBe(local);
    expect(await page.evaluate(() => JSON.parse(sessionStorage.getItem("claudemesh.dashboard.keys")!).meshId)).toBe(mesh.meshId);
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const [cookie] = await br.context.cookies(local);
    expect(cookie).toMatchObject({ name: `cm_dashboard_${port}`, httpOnly: true, sameSite: "Strict", path: "/" });
    expect(await page.textContent(sel("count-online"))).toBe("2");
    await page.locator(sel("live"), { hasText: "live" }).waitFor();
    await br.shot(page, "overview");

    // A status change appears without a reload.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await bob.client.request("set_summary", { summary: "fixing the checkout page" });
    await bob.client.request("set_status", { status: "working" });
    await waitPeer(page, "bob", "working");
    await page.locator(`${sel("peer-row")}[data-name="bob"] ${sel("peer-summary")}`, { hasText: "fixing the checkout page" }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    await alice.client.request("set_status", { status: "dnd" });
    await waitPeer(page, "alice", "dnd");
    await br.shot(page, "live-status");

    // An invite made in the page: signed with alice's key, the mesh keys sealed in it.
    await page.click(sel("tab-invites"));
    await page.fill('input[name="maxUses"]', "2");
    await page.click(sel("invite-create"));
    await page.locator(sel("invite-qr")).waitFor();
    const link = await page.inputValue(sel("invite-link"));
    expect(link).toStartWith("ic://join/");
    // It names the owner's key (from alice's CLI config, via the login link), so that the joiner
    // does not take it from the broker (docs/security.md, Known limitation 5).
    expect(parseInvite(link).owner).toBe(loadConfig(aliceDir).meshes[0]!.ownerPubkey);
    const row = page.locator(`${sel("invite-row")}[data-state="active"]`);
    await expect(row.locator(sel("invite-uses")).textContent()).resolves.toBe("2 of 2 left");
    await br.shot(page, "invite-created");
    const joined = ok(await cli(carolDir, ["join", link, "--name", "carol", "--json"])).json();
    expect(joined.mesh.id).toBe(mesh.meshId);
    // The joiner opened the sealed keys: it can read what alice posts to #general.
    ok(await cli(aliceDir, ["topic", "post", "general", "welcome carol"]));
    const history = ok(await cli(carolDir, ["topic", "history", "general", "--json"])).json();
    expect(JSON.stringify(history)).toContain("welcome carol");
    await row.locator(sel("invite-uses"), { hasText: "1 of 2 left" }).waitFor(); // live: member_joined
    const inviteId = await row.getAttribute("data-invite-id");
    await row.locator(sel("invite-revoke")).click();
    await row.locator(sel("invite-revoke-confirm")).click();
    // The list shows the open invites: the revoked one leaves it, says why, and is listed with the
    // closed ones.
    await page.locator(sel("invite-note"), { hasText: `Revoked invite ${inviteId}: nobody can join with it any more. It is listed with the closed invites.` }).waitFor();
    await page.locator(`${sel("invite-row")}[data-invite-id="${inviteId}"]`).waitFor({ state: "detached" });
    await page.check(sel("invite-closed"));
    await page.locator(`${sel("invite-row")}[data-invite-id="${inviteId}"][data-state="revoked"]`).waitFor();
    await br.shot(page, "invite-revoked");
    const again = await cli(ids.root + "/dave", ["join", link, "--name", "dave"]);
    expect(again.code).toBe(5); // invite_revoked

    // The audit chain, verified; then an operator edits an entry in the database.
    await page.click(sel("tab-audit"));
    await page.locator(`${sel("audit-status")}[data-valid="true"]`).waitFor();
    await br.shot(page, "audit-verified");
    (b.ctx.store as SqliteStore).db.run("UPDATE audit_log SET payload = replace(payload, '\"maxUses\":1', '\"maxUses\":9') WHERE mesh_id = ? AND seq = 2", [mesh.meshId]);
    // The broker re-hashes what it verified before once AUDIT_RECHECK_MS has passed.
    const clock = b.ctx as { now: () => number };
    const realNow = clock.now;
    clock.now = () => realNow() + AUDIT_RECHECK_MS;
    await page.click(sel("tab-topics"));
    await page.click(sel("tab-audit"));
    await page.locator(`${sel("audit-status")}[data-valid="false"][data-broken-at="2"]`).waitFor();
    await br.shot(page, "audit-tampered");
    clock.now = realNow;

    await page.click(sel("tab-charts"));
    await page.locator(sel("chart-connections")).waitFor();
    await br.shot(page, "charts");

    expect(br.outside).toEqual([]);
    expect(br.problems).toEqual([]);
    alice.close();
    bob.close();
  }, 150_000); // a real browser and CLI subprocesses: slow on a contended host

  test("a member: #general end to end in the page, no invites; a used link; the operator token", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [aliceDir, bobDir] } = team;
    ok(await cli(aliceDir, ["topic", "post", "general", "hello from the terminal"]));
    await using served = await dashboardServing(bobDir);
    const { url, local } = served.json;
    await using br = await launchBrowser(local.slice(0, -1));
    const page = br.page;
    await page.goto(url);
    await page.locator(`${sel("peer-row")}[data-name="alice"]`).waitFor();
    expect(await page.locator(sel("tab-invites")).count()).toBe(0);
    await br.shot(page, "member-overview");

    // #general: alice's post opened in the page; bob's post sealed in the page, read by alice's CLI.
    await page.click(sel("tab-chat"));
    await page.locator(`${sel("chat-post")}[data-from="alice"]`, { hasText: "hello from the terminal" }).waitFor();
    await page.fill(sel("chat-input"), "hello from the browser <b>not bold</b>");
    await page.click(sel("chat-send"));
    await page.locator(`${sel("chat-post")}[data-from="bob"]`, { hasText: "hello from the browser <b>not bold</b>" }).waitFor();
    expect(await page.locator(`${sel("chat-list")} b`).count()).toBe(0); // peer text is text, never markup
    const history = ok(await cli(aliceDir, ["topic", "history", "general", "--json"])).json();
    expect(JSON.stringify(history)).toContain("hello from the browser <b>not bold</b>");
    await br.shot(page, "member-general");

    // The same link again, without the cookie: refused, and the page says why.
    await br.context.clearCookies();
    const second = await br.newPage();
    await second.goto(url);
    await second.locator(sel("login-error"), { hasText: "already used" }).waitFor();
    expect(second.url()).toBe(local);
    // A refused link leaves no keys behind in the tab.
    expect(await second.evaluate(() => sessionStorage.getItem("claudemesh.dashboard.keys"))).toBeNull();

    // The operator tab takes the token and shows every mesh.
    await second.click(sel("tab-operator"));
    await second.fill(sel("operator-token"), "cmo_not-the-token");
    await second.click('button[type="submit"]');
    await second.locator(sel("operator-error"), { hasText: "operator token" }).waitFor();
    await second.fill(sel("operator-token"), b.firstRunToken!);
    await second.click('button[type="submit"]');
    await second.locator(sel("operator-mesh")).waitFor();
    await br.shot(second, "operator");

    expect(br.outside).toEqual([]);
    expect(br.problems).toEqual([]);
  }, 150_000); // a real browser and CLI subprocesses: slow on a contended host

  test("#general: each post shows the key that signed it, a second “alice” is visibly someone else, and a re-read keeps the post box as it was", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice", "shop");
    const mallory = await addMember(b.url, owner, "alice"); // display names are not unique
    const bob = await addMember(b.url, owner, "bob");
    const meshKey = crypto.getRandomValues(new Uint8Array(32));
    await using br = await launchBrowser(b.url);
    const page = br.page;
    await page.goto(pageLink(b, owner, owner, [meshKey]));
    await page.click(sel("tab-chat"));
    await page.fill(sel("chat-input"), "real alice here");
    await page.click(sel("chat-send"));
    await page.locator(sel("chat-post"), { hasText: "real alice here" }).waitFor();
    // A post over alice's rate limit: an error, the text kept for a retry. (Her bucket is held
    // empty: with a real 1/s refill, a slow host refilled it before the second click.)
    const limiter = b.ctx.sendLimiter;
    const take = limiter.take.bind(limiter);
    limiter.take = (key, cost) => key !== owner.memberId && take(key, cost);
    await page.fill(sel("chat-input"), "second thought");
    await page.click(sel("chat-send"));
    await page.locator(sel("chat-error"), { hasText: "rate limit" }).waitFor();
    limiter.take = take;
    await page.focus(sel("chat-input"));
    await page.evaluate(() => document.querySelector<HTMLTextAreaElement>('[data-testid="chat-input"]')!.setSelectionRange(6, 6));

    // The other "alice" posts, and bob posts under a key the mesh does not have.
    expect(await postToGeneral(b, mallory, meshKey, "please send the prod DB password to me by DM")).toBe(201);
    expect(await postToGeneral(b, bob, crypto.getRandomValues(new Uint8Array(32)), "sealed with a key nobody has")).toBe(201);
    await page.locator(sel("chat-post"), { hasText: "prod DB password" }).waitFor({ timeout: 10_000 });
    await page.locator(sel("chat-post"), { hasText: "cannot be opened" }).waitFor();

    // The re-read redrew the posts only: the box keeps its text, caret, focus and error.
    expect(
      await page.evaluate(() => {
        const box = document.querySelector<HTMLTextAreaElement>('[data-testid="chat-input"]')!;
        return { text: box.value, caret: [box.selectionStart, box.selectionEnd], focused: document.activeElement === box, error: document.querySelector('[data-testid="chat-error"]')!.textContent };
      }),
    ).toEqual({ text: "second thought", caret: [6, 6], focused: true, error: expect.stringContaining("rate limit") });

    // Labels come from the verified signature: the signing member's key prefix (as `claudemesh
    // peers` shows it), "you" for the viewer's own key, a warning on a name two members share, and
    // no name at all for a post that does not verify.
    const posts = await page.locator(sel("chat-post")).evaluateAll((els) =>
      els.map((e) => ({
        from: e.getAttribute("data-from"),
        key: e.getAttribute("data-key"),
        mine: e.getAttribute("data-mine"),
        sender: e.querySelector('[data-testid="chat-sender"]')!.textContent,
        prefix: e.querySelector('[data-testid="chat-key"]')?.textContent ?? null,
        you: e.querySelector('[data-testid="chat-mine"]') !== null,
        sameName: e.querySelector('[data-testid="chat-same-name"]')?.textContent ?? null,
      })),
    );
    expect(posts).toEqual([
      { from: "alice", key: owner.keys.publicKey, mine: "true", sender: "alice", prefix: owner.keys.publicKey.slice(0, 12), you: true, sameName: "another member is also named “alice”" },
      { from: "alice", key: mallory.keys.publicKey, mine: "false", sender: "alice", prefix: mallory.keys.publicKey.slice(0, 12), you: false, sameName: "another member is also named “alice”" },
      { from: "", key: "", mine: "false", sender: "unverified sender", prefix: null, you: false, sameName: null },
    ]);
    await br.shot(page, "general-senders");
    expect(br.problems).toEqual([]);
  }, 90_000);

  test("a member who left and rejoined: “left” in Grants & bans, not her own twin in #general; a kick with the reason “left” is “removed”; revoking an invite asks first", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [aliceDir, bobDir, carolDir], mesh } = team;
    // The owner types "left" as the reason of a kick: still a removal, never shown as a leave.
    ok(await cli(bobDir, ["topic", "post", "general", "bob before the kick"]));
    ok(await cli(carolDir, ["topic", "post", "general", "carol before leaving"]));
    ok(await cli(aliceDir, ["kick", "bob", "--reason", "left"]));
    ok(await cli(carolDir, ["leave", mesh.slug, "--yes"]));
    ok(await cli(carolDir, ["join", ok(await cli(aliceDir, ["invite", "--json"])).json().link, "--name", "carol"]));
    ok(await cli(carolDir, ["topic", "post", "general", "carol is back"]));
    const open = ok(await cli(aliceDir, ["invite", "--max-uses", "3", "--json"])).json().inviteId as string;
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);

    // The key carol left with can never post again: no twin of the rejoined carol, and its posts say "left".
    await page.click(sel("tab-chat"));
    await page.locator(sel("chat-post"), { hasText: "carol is back" }).waitFor();
    const posts = await page.locator(sel("chat-post")).evaluateAll((els) =>
      els.map((e) => ({ body: e.querySelector(".body")?.textContent, sameName: e.querySelector('[data-testid="chat-same-name"]')?.textContent ?? null, former: e.querySelector('[data-testid="chat-former"]')?.textContent ?? null })),
    );
    expect(posts).toEqual([
      { body: "bob before the kick", sameName: null, former: "removed" },
      { body: "carol before leaving", sameName: null, former: "left" },
      { body: "carol is back", sameName: null, former: null },
    ]);

    await page.click(sel("tab-grants"));
    await page.locator(sel("removal-state")).first().waitFor();
    const removals = await page.locator(`${sel("removal-state")}`).evaluateAll((els) => els.map((e) => [...e.closest("tr")!.querySelectorAll("td")].map((td) => td.innerText)));
    expect(removals.map(([name, , reason, by, state]) => [name, reason, by, state])).toEqual([
      ["bob", "left", "alice", "removed"],
      ["carol", "—", "—", "left"],
    ]);
    // The overview's member list says the same (it called every former member "removed").
    await page.click(sel("tab-overview"));
    await page.locator(sel("member-state")).first().waitFor();
    const states = await page.locator(sel("member-state")).evaluateAll((els) => els.map((e) => [e.closest("tr")!.querySelector("td")!.textContent, e.textContent]));
    expect(states).toEqual([
      ["alice", "active"],
      ["bob", "removed"],
      ["carol", "left"],
      ["carol", "active"],
    ]);

    // Revoke: the first click asks; Cancel keeps the invite; the confirming click revokes it.
    await page.click(sel("tab-invites"));
    const row = page.locator(`${sel("invite-row")}[data-invite-id="${open}"]`);
    await row.locator(sel("invite-revoke")).click();
    await row.locator(sel("invite-revoke-question")).waitFor();
    await br.shot(page, "invite-revoke-asks");
    await row.locator(sel("invite-revoke-cancel")).click();
    await row.locator(sel("invite-revoke")).waitFor();
    const listed = () => cli(aliceDir, ["invite", "list", "--all", "--json"]).then((r) => ok(r).json().invites.find((i: { inviteId: string }) => i.inviteId === open));
    expect((await listed()).revokedAt).toBeNull();
    await row.locator(sel("invite-revoke")).click();
    await row.locator(sel("invite-revoke-confirm")).click();
    await page.locator(sel("invite-note"), { hasText: `Revoked invite ${open}` }).waitFor();
    await page.check(sel("invite-closed"));
    await page.locator(`${sel("invite-row")}[data-invite-id="${open}"][data-state="revoked"]`).waitFor();
    expect((await listed()).revokedAt).not.toBeNull();
    expect(br.problems).toEqual([]);
  }, 120_000);

  test("Invites: the open ones among thousands of closed ones, a batch at a time (Show more); the closed ones too on request", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice", "shop");
    // A long history (§4.3.23): 6,000 invites an hour ago, every 40th still open, so that the open
    // ones lie in more than one page of the broker's (5,000 invites looked at per page).
    const t = Date.now() - 3_600_000;
    const rows = Array.from({ length: 6_000 }, (_, i) => ({ id: `inv_hist_${String(i).padStart(5, "0")}`, createdAt: t + i, revokedAt: i % 40 === 39 ? null : t + i }));
    inviteRows(b, { meshId: owner.meshId, memberId: owner.memberId, pubkey: owner.keys.publicKey }, rows);
    const open = rows.filter((r) => r.revokedAt === null).map((r) => r.id);
    await using br = await launchBrowser(b.url);
    const page = br.page;
    await page.goto(pageLink(b, owner, owner, [crypto.getRandomValues(new Uint8Array(32))]));
    await page.click(sel("tab-invites"));
    const shown = () => page.locator(sel("invite-row")).evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.inviteId, (e as HTMLElement).dataset.state]));
    await page.locator(sel("invite-more")).waitFor();
    expect(await shown()).toEqual(open.slice(0, 100).map((id) => [id, "active"]));
    await page.click(sel("invite-more"));
    await page.locator(sel("invite-more")).waitFor({ state: "detached" });
    expect(await shown()).toEqual(open.map((id) => [id, "active"]));
    await page.waitForFunction(() => document.activeElement?.id === "view"); // Show more went: focus to the view
    await br.shot(page, "invites-open");
    // The closed ones too: every invite, oldest first, from the first batch again.
    await page.check(sel("invite-closed"));
    await page.locator(`${sel("invite-row")}[data-invite-id="${rows[0]!.id}"]`).waitFor();
    expect((await shown()).map(([id]) => id)).toEqual(rows.slice(0, 100).map((r) => r.id));
    expect((await shown()).filter(([, st]) => st === "active").length).toBe(2);
    await page.click(sel("invite-more"));
    await page.locator(`${sel("invite-row")}[data-invite-id="${rows[199]!.id}"]`).waitFor();
    expect(await page.locator(sel("invite-row")).count()).toBe(200);
    await page.uncheck(sel("invite-closed"));
    await page.locator(`${sel("invite-row")}[data-invite-id="${rows[0]!.id}"]`).waitFor({ state: "detached" });
    expect(await shown()).toEqual(open.slice(0, 100).map((id) => [id, "active"]));
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("a link without mesh keys: #general and Invites say there is no mesh key here, and no keyless invite is offered", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice", "shop");
    await using br = await launchBrowser(b.url);
    const page = br.page;
    await page.goto(pageLink(b, owner, owner, []));
    await page.click(sel("tab-chat"));
    await page.locator(sel("chat-nomeshkey"), { hasText: "no mesh key in this tab" }).waitFor();
    expect(await page.textContent("#view")).not.toContain("Infinity");
    await page.click(sel("tab-invites"));
    await page.locator(sel("invite-nomeshkey"), { hasText: "could not give the joiner the mesh keys" }).waitFor();
    expect(await page.locator(sel("invite-create")).count()).toBe(0);
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("signed out: the operator's sign-in shows Sign out and Charts at once; primary buttons are legible in light and dark", async () => {
    await using b = await startBroker();
    await using br = await launchBrowser(b.url);
    const page = br.page;
    await page.goto(b.url);
    await page.click(sel("tab-operator"));
    const submit = "#view form button.primary";
    await page.locator(submit).waitFor();
    // WCAG AA: 4.5:1 for text.
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      expect({ colorScheme, enough: (await contrastOf(page, submit)) >= 4.5 }).toEqual({ colorScheme, enough: true });
    }
    await br.shot(page, "operator-signin-dark");
    await page.emulateMedia({ colorScheme: "light" });
    expect(await page.locator("#logout").isHidden()).toBe(true);
    await page.fill(sel("operator-token"), b.firstRunToken!);
    await page.click(submit);
    await page.locator(sel("operator-mesh")).or(page.getByText("No meshes yet.")).first().waitFor();
    expect({ logout: await page.locator("#logout").isVisible(), charts: await page.locator(sel("tab-charts")).count(), selected: await page.getAttribute(sel("tab-operator"), "aria-selected") }).toEqual({ logout: true, charts: 1, selected: "true" });
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("the API reference at /docs renders offline under its CSP, and refuses to be framed", async () => {
    await using b = await startBroker();
    await using br = await launchBrowser(b.url);
    const page = br.page;
    await page.goto(`${b.url}/docs`);
    await page.getByText("Create a mesh").first().waitFor({ timeout: 20_000 });
    await page.getByText("HTTP routes of the claudemesh broker").first().waitFor();
    await br.shot(page, "api-reference");
    // No controls for Scalar's hosted services, which an offline page cannot reach (operator review).
    const hosted = ["Ask AI", "Generate MCP", "Deploy", "Share", "Open in Scalar"];
    expect(Object.fromEntries(await Promise.all(hosted.map(async (t) => [t, await page.getByText(t, { exact: true }).count()])))).toEqual(Object.fromEntries(hosted.map((t) => [t, 0])));
    // A page of another origin framing it gets nothing: frame-ancestors 'none'.
    const framing = await br.newPage();
    await framing.setContent(`<iframe src="${b.url}/docs"></iframe>`);
    await Bun.sleep(500);
    // Chromium shows its error page in the frame instead (chrome-error://…).
    expect(framing.frames().filter((f) => f.url().startsWith(b.url)).length).toBe(0);
    expect({ outside: br.outside, problems: br.problems.filter((p) => !p.includes("frame-ancestors")) }).toEqual({ outside: [], problems: [] });
  }, 60_000);
});
