// The dashboard page's live view at its edges, in a real browser against a real broker: a stream
// that drops and comes back redraws what it missed; a broker restart (which ends every session)
// says the session ended instead of showing stale data; a second login in the same browser stops the
// tabs of the first instead of letting them act in the other mesh; the /join page shows its
// address only when it is an invite, and says to paste it into `claudemesh join -`.
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { cli, cliMesh, dashboardServing, identities, ok, cliTeam } from "../helpers/cli.ts";
import { connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { loadConfig, saveConfig } from "../../src/client/local/config-file.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";
import { toBase64 } from "../../src/crypto/encoding.ts";
import { randomId } from "../../src/crypto/hash.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

function peerFrom(url: string, dir: string, name: string) {
  const e = loadConfig(dir).meshes[0]!;
  return connect(url, { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: name, role: e.role }, { cwd: `/home/${name}`, hostname: `${name}-laptop` });
}

/** A login link for `m` carrying one mesh key, as `claudemesh dashboard` makes it. */
function linkFor(b: TestBroker, m: TestMember, slug: string): string {
  const keys = { publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, meshKeys: [{ epoch: 0, key: toBase64(crypto.getRandomValues(new Uint8Array(32))) }], brokerUrl: b.url, slug, name: slug };
  return dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now(), keys }).url;
}

const rows = (page: import("playwright-core").Page) =>
  page.locator(sel("peer-row")).evaluateAll((rs) => rs.map((r) => `${r.getAttribute("data-name")}:${r.querySelector('[data-testid="peer-status"]')!.textContent}`).sort());

describe("dashboard live view", () => {
  test("after the event stream drops and reconnects, the page redraws what happened meanwhile", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { b, dirs: [aliceDir, bobDir, carolDir] } = team;
    const bob = await peerFrom(b.url, bobDir, "bob");
    // The CLI's page, whose calls to the broker pass a link the test can cut.
    using proxy = linkProxy(b.port);
    const cfg = loadConfig(aliceDir);
    saveConfig(aliceDir, { ...cfg, meshes: cfg.meshes.map((m) => ({ ...m, brokerUrl: proxy.url })) });
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    await br.page.goto(served.json.url);
    await br.page.locator(`${sel("peer-row")}[data-name="bob"]`).waitFor();
    await br.page.locator(sel("live"), { hasText: "live" }).waitFor();
    proxy.cut();
    await br.page.locator(sel("live"), { hasText: "offline" }).waitFor();
    const carol = await peerFrom(b.url, carolDir, "carol"); // both during the gap: no event reaches the page
    await bob.client.request("set_status", { status: "working" });
    await br.page.locator(sel("live"), { hasText: "live" }).waitFor({ timeout: 20_000 });
    await br.page.locator(`${sel("peer-row")}[data-name="carol"]`, { hasText: "idle" }).waitFor({ timeout: 5_000 });
    expect(await rows(br.page)).toEqual(["alice:offline", "bob:working", "carol:idle"]);
    expect(br.problems).toEqual([]);
    carol.close();
    bob.close();
  }, 90_000);

  test("a broker restart ends the session: the page says so instead of showing stale data", async () => {
    await using first = await startBroker({}, { keepData: true });
    const port = Number(new URL(first.url).port);
    await using ids = identities(1);
    const [aliceDir] = ids.dirs as [string];
    await cliMesh(first.url, [[aliceDir, "alice"]]);
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    await br.page.goto(served.json.url);
    await br.page.locator(sel("live"), { hasText: "live" }).waitFor();
    await first.stop();
    await using again = await startBroker({ port }, { dataDir: first.dataDir });
    await br.page.locator(sel("view-error"), { hasText: "session has ended" }).waitFor({ timeout: 20_000 });
  }, 90_000);

  test("Ctrl-C on claudemesh dashboard: the page says it stopped and forgets the keys; the session is ended at the broker", async () => {
    await using team = await cliTeam(["alice"]);
    const { b, dirs: [aliceDir] } = team;
    await using served = await dashboardServing(aliceDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    await br.page.goto(served.json.url);
    await br.page.locator(sel("live"), { hasText: "live" }).waitFor();
    expect(await br.page.evaluate(() => sessionStorage.getItem("claudemesh.dashboard.keys"))).not.toBeNull();
    const [cookie] = await br.context.cookies(served.json.local);
    const pageKeys = await br.page.evaluate(() => localStorage.getItem("claudemesh.dashboard.pageKeys"));
    served.proc.kill("SIGINT");
    expect(await served.proc.exited).toBe(0);
    await br.page.locator(sel("dashboard-stopped"), { hasText: "Run `claudemesh dashboard` again" }).waitFor({ timeout: 10_000 });
    expect(await br.page.evaluate(() => sessionStorage.getItem("claudemesh.dashboard.keys"))).toBeNull();
    expect(await br.page.locator(sel("live")).textContent()).toBe("updates offline");
    // With its page key too: the session itself is gone, not just unproven.
    const atBroker = await fetch(`${b.url}/v1/dashboard/me`, { headers: { cookie: `cm_dashboard=${cookie!.value}`, [PAGE_KEY_HEADER]: JSON.parse(pageKeys!).join(",") } });
    expect([atBroker.status, ((await atBroker.json()) as any).error.code]).toEqual([401, "unauthorized"]);
    expect(br.problems).toEqual([]);
  }, 60_000);

  test("after a key rotation the page stops posting under the older key it holds", async () => {
    await using team = await cliTeam(["alice", "carol"]);
    const { b, dirs: [aliceDir, carolDir] } = team;
    await using served = await dashboardServing(aliceDir); // holds epoch 0
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    await br.page.goto(served.json.url);
    await br.page.locator(sel("tab-chat")).click();
    await br.page.locator(sel("chat-input")).waitFor();
    ok(await cli(aliceDir, ["kick", "carol"])); // rotates to epoch 1; carol still holds epoch 0
    await br.page.locator(sel("chat-stale-key"), { hasText: "rotated to epoch 1" }).waitFor({ timeout: 15_000 });
    expect(await br.page.locator(sel("chat-input")).count()).toBe(0);
    // An owner is never sent a key by anyone: the tab names a fresh link, then rekey, not inbox alone.
    const said = await br.page.locator(sel("chat-stale-key")).textContent();
    expect(said).toContain("Open a fresh link from `claudemesh dashboard`");
    expect(said).toContain("run `claudemesh rekey`");
    expect(said).not.toContain("it brings the new key");
  }, 60_000);

  test("one browser, two logins: the older tabs stop, say who is signed in now, and post nothing into the other mesh", async () => {
    await using b = await startBroker();
    const alice = (await createTestMesh(b.url, "alice", "shop")).owner;
    const carol = (await createTestMesh(b.url, "carol", "home")).owner;
    await using br = await launchBrowser(b.url);
    const writing = br.page; // alice in shop, about to post in #general
    await writing.goto(linkFor(b, alice, "shop"));
    await writing.click(sel("tab-chat"));
    await writing.locator(sel("chat-input")).waitFor();
    const idle = await br.newPage(); // alice again, with a fresh link: same member, nothing changes
    await idle.goto(linkFor(b, alice, "shop"));
    await idle.locator(sel("live"), { hasText: "live" }).waitFor();
    const other = await br.newPage(); // carol's link for home takes the browser's cookie
    await other.goto(linkFor(b, carol, "home"));
    await other.locator(sel("count-members")).waitFor();

    // The writing tab posts at once: refused, and it says why instead of posting as carol. (On a
    // slow host it may have noticed the change by itself first, as the idle tab does below, and
    // removed the post box: then there is nothing to post, and it says the same.)
    const posted = await writing
      .fill(sel("chat-input"), "meant for shop only", { timeout: 3000 })
      .then(() => writing.click(sel("chat-send"), { timeout: 3000 }))
      .then(() => true, () => false);
    if (!posted) expect(await writing.locator(sel("chat-input")).count()).toBe(0);
    const changed = sel("session-changed");
    await writing.locator(changed, { hasText: "Signed in as carol" }).waitFor({ timeout: 10_000 });
    expect(await writing.textContent(changed)).toContain("reload");
    expect(await writing.evaluate(() => sessionStorage.getItem("claudemesh.dashboard.keys"))).toBeNull();
    // The idle tab notices by itself: its stream ends with the replaced session, and comes back as carol's.
    await idle.locator(changed, { hasText: "Signed in as carol" }).waitFor({ timeout: 25_000 });
    expect(await idle.locator(`${sel("peer-row")}[data-name="carol"]`).isVisible()).toBe(false);
    expect(await idle.locator(sel("live")).textContent()).toBe("updates offline");

    // Nothing landed in either mesh; carol's tab is unaffected.
    const postsOf = async (m: TestMember) => {
      const { login } = dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() });
      const res = await fetch(`${b.url}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(login) });
      const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
      return (await (await fetch(`${b.url}/v1/dashboard/topics/general/history`, { headers: { cookie, [PAGE_KEY_HEADER]: res.headers.get(PAGE_KEY_HEADER)! } })).json()).messages;
    };
    expect({ home: await postsOf(carol), shop: await postsOf(alice) }).toEqual({ home: [], shop: [] });
    expect(await other.locator(changed).count()).toBe(0);
    await br.shot(idle, "session-changed");
    expect(br.problems).toEqual([]);
  }, 90_000);

  test("/join shows the link only for an invite-shaped address, never one a shell would run", async () => {
    await using b = await startBroker();
    await using br = await launchBrowser(b.url);
    await br.page.goto(`${b.url}/join#x';touch\${IFS}/tmp/pwned;'`);
    await br.page.locator(sel("join-error")).waitFor();
    expect(await br.page.locator("textarea").count()).toBe(0);
    await br.page.goto("about:blank"); // a fragment-only change would not load the page again
    await br.page.goto(`${b.url}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    expect(await br.page.inputValue(sel("join-link"))).toBe(`${b.url}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
  }, 60_000);

  // First-run review M7: `claudemesh join '<link>'` put the invite secret on argv (ps, /proc) and in
  // the shell's history; `join -` reads it from the first line of stdin.
  test("/join says to run `claudemesh join -` and paste the link, never to pass it as an argument", async () => {
    await using b = await startBroker();
    await using br = await launchBrowser(b.url);
    await br.page.goto(`${b.url}/join#eyJ2IjoyLCJicm9rZXIiOiJodHRwOi8veCJ9`);
    await br.page.locator(sel("join-steps")).waitFor();
    expect({
      steps: await br.page.textContent(sel("join-steps")),
      command: await br.page.textContent(sel("join-command")),
      boxes: await br.page.locator("textarea").count(),
      argv: (await br.page.textContent("body"))!.includes("claudemesh join '"),
    }).toEqual({
      steps: "Join from a terminal on the machine where your agents run (install claudemesh first): run claudemesh join -, paste the link, then Enter.",
      command: "claudemesh join -",
      boxes: 1,
      argv: false,
    });
  }, 60_000);
});
