// A mesh's whole audit chain read from a store the way the product reads it: in pages of
// listAudit (the broker's audit_log handler, the audit verifier), not through a whole-chain query
// only tests would use.
import type { ChainEntry } from "../../src/protocol/audit-chain.ts";
import type { Store } from "../../src/store/types.ts";

/** Small enough that the chains tests build span several pages. */
const PAGE = 4;

/** Every entry of `meshId`'s chain, oldest first. */
export async function wholeChain(store: Pick<Store, "listAudit">, meshId: string): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for (;;) {
    const page = await store.listAudit(meshId, out.at(-1)?.seq ?? 0, PAGE);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}
