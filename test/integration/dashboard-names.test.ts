// Names members chose, in #general in chromium (docs/dashboard.md "What you see"): a name cannot
// reorder the key prefix and time shown after it, whether with a bidi override ("eve\u202E") or by
// being written right to left, and characters that show nothing neither show nor dodge the warning
// that another member has the same name ("ali\u200Bce" beside "alice").
import { expect, test } from "bun:test";
import { startBroker, storedName } from "../helpers/broker.ts";
import { addMember, createInvite, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { pageLink, postToGeneral } from "../helpers/dashboard.ts";
import { claimInvite } from "../../src/client/http.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

const sel = (id: string) => `[data-testid="${id}"]`;

/** A member named `name` whose key starts with a digit: right after a right-to-left name, a digit
 *  is drawn on the name's far side unless the name is isolated. */
async function digitKeyed(url: string, owner: TestMember, name: string): Promise<TestMember> {
  let keys = generateSigningKeypair();
  while (!/^\d/.test(keys.publicKey)) keys = generateSigningKeypair();
  const inv = await createInvite(url, owner);
  const r = await claimInvite(url, { inviteId: inv.inviteId, meshId: inv.meshId, inviteKeys: inv.inviteKeys, joiner: keys, displayName: name });
  return { meshId: inv.meshId, memberId: r.member.memberId, keys, displayName: name, role: r.member.role };
}

test("a name cannot reorder what follows it, and invisible characters neither show nor dodge the same-name warning", async () => {
  await using b = await startBroker();
  const { owner: alice } = await createTestMesh(b.url, "alice");
  // Brokers now refuse such names (src/protocol/names.ts); these were stored by an older one.
  const eve = await addMember(b.url, alice, "eve");
  storedName(b, eve.meshId, eve.memberId, "eve\u202E");
  const avi = await digitKeyed(b.url, alice, "\u05D0\u05D1\u05D9"); // "avi" in Hebrew
  const twin = await addMember(b.url, alice, "twin");
  storedName(b, twin.meshId, twin.memberId, "ali\u200Bce");
  const meshKey = crypto.getRandomValues(new Uint8Array(32));
  for (const m of [eve, avi, twin, alice]) expect(await postToGeneral(b, m, meshKey, `hello from ${m.memberId}`)).toBe(201);

  await using br = await launchBrowser(b.url);
  const page = br.page;
  await page.goto(pageLink(b, alice, alice, [meshKey]));
  await page.click(sel("tab-chat"));
  await page.locator(sel("chat-post")).nth(3).waitFor();
  await br.shot(page, "names");
  // Left to right on one line: the name, then the key prefix (its first digit left of its last),
  // then the time.
  const seen = await page.locator(sel("chat-post")).evaluateAll((posts) =>
    Object.fromEntries(
      posts.map((post) => {
        const key = post.querySelector('[data-testid="chat-key"]')!;
        const at = (i: number) => {
          const r = document.createRange();
          r.setStart(key.firstChild!, i);
          r.setEnd(key.firstChild!, i + 1);
          return r.getBoundingClientRect().x;
        };
        const name = post.querySelector('[data-testid="chat-sender"]')!.getBoundingClientRect();
        const time = post.querySelector(":scope > .muted")!.getBoundingClientRect();
        const inOrder = name.right <= key.getBoundingClientRect().left && at(0) < at(11) && key.getBoundingClientRect().right <= time.left;
        return [post.getAttribute("data-key")!, { name: post.querySelector('[data-testid="chat-sender"]')!.textContent, inOrder, twin: post.querySelector('[data-testid="chat-same-name"]') !== null }];
      }),
    ),
  );
  expect(seen).toEqual({
    [eve.keys.publicKey]: { name: "eve", inOrder: true, twin: false },
    [avi.keys.publicKey]: { name: "\u05D0\u05D1\u05D9", inOrder: true, twin: false },
    [twin.keys.publicKey]: { name: "alice", inOrder: true, twin: true },
    [alice.keys.publicKey]: { name: "alice", inOrder: true, twin: true },
  });
  expect(br.problems).toEqual([]);
}, 60_000);
