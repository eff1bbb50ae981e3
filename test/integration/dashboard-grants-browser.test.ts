// The Grants page tells a recipient what their block does, since the blocked sender is told
// nothing (docs/protocol.md §5.9): beside a blocked entry, one sentence says the sender still sees
// "Sent" and the broker drops the messages. A
// narrowed entry is no block and gets no such sentence. Each sender is named as `claudemesh grants`
// names it, with the start of its key (two peers may share a name; an entry is for one key), and a
// session's entry that its member's entry overrides (§5.9: the member key is looked up first) is
// marked "not applied", as the CLI marks it; a block not applied gets no sentence either. Pins
// docs/dashboard.md "What you see".
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { cli, cliTeam, dashboardServing, ok, sessionOf } from "../helpers/cli.ts";
import { launchBrowser } from "../helpers/browser.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** A sender as a row shows it: the name, then the start of the key (its disclosure closed). */
const named = (name: string, key: string) => `${name} ${key.slice(0, 12)}`;

/** Shows the Grants tab (again) and waits until it is drawn. */
async function showGrants(page: Page): Promise<void> {
  await page.click(sel("tab-grants"));
  await page.locator('#view[aria-labelledby="tab-grants"]:not([aria-busy="true"]) table').waitFor({ timeout: 10_000 });
}

/** The sentence under the list while an entry that applies is blocked. */
const NOTE = 'A blocked sender is still told "Sent": the block is not revealed to them. The broker drops what they send you; topic history still lists their posts.';

/** bob's dashboard, served by his CLI and open on the Grants tab. `shown()` reads it again: the
 *  rows as shown (sorted; a sender's whole key is there once its disclosure is opened) and the
 *  blocked-sender sentence. */
async function bobsGrants(bobDir: string) {
  const served = await dashboardServing(bobDir);
  const br = await launchBrowser(served.json.local.slice(0, -1)).catch(async (err: unknown) => {
    await served[Symbol.asyncDispose]();
    throw err;
  });
  const page = br.page;
  await page.goto(served.json.url);
  await page.locator(`${sel("peer-row")}[data-name="bob"]`).waitFor();
  const shown = async () => {
    await showGrants(page);
    return { rows: (await page.locator("#view tbody tr").allInnerTexts()).sort(), note: (await page.locator(sel("grants-blocked-note")).allTextContents()).join("") };
  };
  return {
    br,
    page,
    shown,
    async [Symbol.asyncDispose]() {
      await br[Symbol.asyncDispose]();
      await served[Symbol.asyncDispose]();
    },
  };
}

describe("dashboard grants", () => {
  test("a blocked entry says the sender is still told “Sent” and that the broker drops what they send; a narrowed one does not", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [aliceDir, bobDir] } = team;
    const alice = named("alice", team.mesh.members.alice!.pubkey);
    ok(await cli(bobDir, ["revoke", "alice", "dm"]));
    await using view = await bobsGrants(bobDir);
    expect(await view.shown()).toEqual({ rows: [`bob\t${alice}\tbroadcast, group, topic`], note: "" });

    ok(await cli(bobDir, ["block", "alice"]));
    const sent = ok(await cli(aliceDir, ["send", "bob", "dropped"])).stdout;
    expect(sent).toStartWith("Sent to \"bob\"");
    expect(await view.shown()).toEqual({ rows: [`bob\t${alice}\tblocked`], note: NOTE });
    await view.br.shot(view.page, "grants-blocked");
    expect({ problems: view.br.problems, outside: view.br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);

  test("a session's entry is named with its key; while its member's entry covers it, it is marked not applied, and its block says nothing of drops", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [aliceDir, bobDir] } = team;
    const alicePub = team.mesh.members.alice!.pubkey;
    const shop = await sessionOf(b.url, aliceDir, "/home/alice/shop");
    const session = (ok(await cli(bobDir, ["peers", "--json"])).json().peers as { kind: string; displayName: string; pubkey: string }[]).find((p) => p.kind === "session")!;
    ok(await cli(bobDir, ["block", session.displayName]));
    ok(await cli(bobDir, ["revoke", "alice", "dm"]));
    // The CLI's word on it, which the page must agree with.
    expect(ok(await cli(bobDir, ["grants", "--json"])).json().grants.find((g: { peer: string }) => g.peer === session.pubkey).overriddenBy).toBe(alicePub);

    await using view = await bobsGrants(bobDir);
    const alice = named("alice", alicePub);
    expect(await view.shown()).toEqual({
      rows: [`bob\t${alice}\tbroadcast, group, topic`, `bob\t${named(session.displayName, session.pubkey)}\tblocked (not applied: the entry of ${alice} covers all of their sessions)`].sort(),
      note: "",
    });
    await view.br.shot(view.page, "grants-overridden");

    // alice's entry removed: the session's block applies again, unmarked, with its sentence.
    ok(await cli(bobDir, ["grant", "alice", "all"]));
    expect(await view.shown()).toEqual({ rows: [`bob\t${named(session.displayName, session.pubkey)}\tblocked`], note: NOTE });
    shop.close();
    expect({ problems: view.br.problems, outside: view.br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);
});
