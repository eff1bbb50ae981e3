// docs/protocol.md §9 lists each audit event type with its payload fields. This test writes every
// event type through the store and holds each entry's payload keys to that table, so a reader
// written from the document finds the fields it was promised, present even when they are null.
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { wholeChain } from "../helpers/audit-chain.ts";
import { addMember, invite, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

/** eventType → its payload fields, from §9's table: the backticked names outside parentheses. */
function documentedPayloads(): Map<string, string[]> {
  const md = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
  const section = md.slice(md.indexOf("## 9. Audit chain"), md.indexOf("### 9.1"));
  const rows = new Map<string, string[]>();
  for (const [, type, cell] of section.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)) {
    if (type === "eventType") continue; // the header
    let outside = cell!;
    while (/\([^()]*\)/.test(outside)) outside = outside.replace(/\([^()]*\)/g, "");
    rows.set(type!, [...outside.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort());
  }
  return rows;
}

test("every audit event type is written with exactly the payload fields §9 lists", async () => {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const peer = await addMember(store, owner, "peer");
  const leaver = await addMember(store, owner, "leaver");
  const spare = await invite(store, owner, { maxUses: 3 });
  await store.revokeInvite(mesh.id, spare.id, owner.id); // by request: reason null
  await invite(store, peer, { maxUses: 2 }); // revoked with its issuer below: "issuer removed"
  await store.createTopic(mesh.id, "ops", "", peer.id);
  await store.setGrant(mesh.id, peer.id, owner.pubkey, ["dm"], peer.id);
  await store.setGrant(mesh.id, peer.id, owner.pubkey, null, peer.id);
  await store.setKeyEpoch(mesh.id, 1, owner.id, null);
  await store.revokeMember(mesh.id, leaver.id, { actor: leaver.id, ban: false, reason: null, self: true });
  await store.revokeMember(mesh.id, peer.id, { actor: owner.id, ban: true, reason: "done", self: false });

  const documented = documentedPayloads();
  const chain = await wholeChain(store, mesh.id);
  expect([...new Set(chain.map((e) => e.eventType))].sort()).toEqual([...documented.keys()].sort());
  for (const e of chain) {
    expect({ type: e.eventType, fields: Object.keys(e.payload as object).sort() }).toEqual({ type: e.eventType, fields: documented.get(e.eventType)! });
  }
  const revoked = chain.filter((e) => e.eventType === "invite_revoked").map((e) => (e.payload as { reason: unknown }).reason);
  expect(revoked).toEqual([null, "issuer removed"]);
});
