// The Grants page tells a recipient what their block does, since the blocked sender is told
// nothing (docs/protocol.md §5.9): beside a blocked entry, one sentence says the sender still sees
// "Sent" and the broker drops the messages. A
// narrowed entry is no block and gets no such sentence. Pins docs/dashboard.md "What you see".
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { cli, cliTeam, dashboardServing, ok } from "../helpers/cli.ts";
import { launchBrowser } from "../helpers/browser.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** Shows the Grants tab (again) and waits until it is drawn. */
async function showGrants(page: Page): Promise<void> {
  await page.click(sel("tab-grants"));
  await page.locator('#view[aria-labelledby="tab-grants"]:not([aria-busy="true"]) table').waitFor({ timeout: 10_000 });
}

describe("dashboard grants", () => {
  test("a blocked entry says the sender is still told “Sent” and that the broker drops what they send; a narrowed one does not", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { dirs: [aliceDir, bobDir] } = team;
    ok(await cli(bobDir, ["revoke", "alice", "dm"]));
    await using served = await dashboardServing(bobDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="bob"]`).waitFor();
    await showGrants(page);
    // The rows as shown (a sender's key is there once its disclosure is opened).
    const shown = async () => ({ rows: await page.locator("#view tbody tr").allInnerTexts(), note: (await page.locator(sel("grants-blocked-note")).allTextContents()).join("") });
    expect(await shown()).toEqual({ rows: ["bob\talice\tbroadcast, group, topic"], note: "" });

    ok(await cli(bobDir, ["block", "alice"]));
    const sent = ok(await cli(aliceDir, ["send", "bob", "dropped"])).stdout;
    expect(sent).toStartWith("Sent to \"bob\"");
    await showGrants(page);
    expect(await shown()).toEqual({
      rows: ["bob\talice\tblocked"],
      note: 'A blocked sender is still told "Sent": the block is not revealed to them. The broker drops what they send you; topic history still lists their posts.',
    });
    await br.shot(page, "grants-blocked");
    expect({ problems: br.problems, outside: br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);
});
