// The dashboard's Topics view names a topic's last offset as `claudemesh topic list` does: the
// number of its last post. The offset counts every post ever made, trimmed ones included (the
// broker keeps the latest `topicHistory`, docs/protocol.md §4.3.15), so a "messages" column showing
// it told of posts no longer there. Pins docs/dashboard.md "What you see".
import { describe, expect, test } from "bun:test";
import { cli, cliTeam, dashboardServing, ok } from "../helpers/cli.ts";
import { launchBrowser } from "../helpers/browser.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

describe("dashboard topics", () => {
  test("a topic's last offset is shown as its last post's number, not as a count of messages", async () => {
    await using team = await cliTeam(["alice", "bob"], { topicHistory: 3 });
    const { dirs: [aliceDir, bobDir] } = team;
    // A topic of alice's alone, so that each post trims the oldest: 5 posts, 3 kept.
    ok(await cli(aliceDir, ["topic", "create", "deploys"]));
    for (let i = 1; i <= 5; i++) ok(await cli(aliceDir, ["topic", "post", "deploys", `post ${i}`]));
    await using served = await dashboardServing(bobDir);
    await using br = await launchBrowser(served.json.local.slice(0, -1));
    const page = br.page;
    await page.goto(served.json.url);
    await page.locator(`${sel("peer-row")}[data-name="bob"]`).waitFor();
    await page.click(sel("tab-topics"));
    await page.locator('#view[aria-labelledby="tab-topics"]:not([aria-busy="true"]) table').waitFor({ timeout: 10_000 });
    const column = async (n: number) => [await page.locator(`#view thead th:nth-child(${n})`).innerText(), ...(await page.locator(`#view tbody td:nth-child(${n})`).allInnerTexts())];
    expect({ topics: await column(1), last: await column(4) }).toEqual({ topics: ["topic", "#deploys", "#general"], last: ["last post", "#5", "none"] });
    expect({ problems: br.problems, outside: br.outside }).toEqual({ problems: [], outside: [] });
  }, 60_000);
});
