// An invite used past the limit its issuer signed, as a malicious broker leaves it: the limit
// raised in its store while the link was claimed, and the signed one shown after (docs/security.md,
// limitation 5). The owner's client must vouch for none of the members enrolled through it.
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { TestBroker } from "./broker.ts";
import { createInvite, joinWithInvite, type TestMember } from "./mesh.ts";

/** An invite of `issuer` signed for one use, claimed by "first" and then "second". `showLimit(n)`
 *  makes the broker show `n` as its limit from then on (1, the signed one, when this returns). */
export async function overClaimedInvite(b: TestBroker, issuer: TestMember) {
  const inv = await createInvite(b.url, issuer, { maxUses: 1 });
  const showLimit = (n: number) => void (b.ctx.store as SqliteStore).db.run("UPDATE invites SET max_uses = ? WHERE id = ?", [n, inv.inviteId]);
  showLimit(3);
  const first = await joinWithInvite(b.url, inv, "first");
  const second = await joinWithInvite(b.url, inv, "second");
  showLimit(1);
  return { inv, first, second, showLimit };
}
