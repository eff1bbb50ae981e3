// Reading a mesh's audit chain from its broker, page by page.
import type { BrokerClient } from "./client.ts";
import type { ChainEntry } from "../protocol/audit-chain.ts";
import { MAX_PAGE } from "../protocol/limits.ts";

/** Every entry of the mesh's audit chain, oldest first, in pages of the most the broker gives
 *  (MAX_PAGE). Throws what the requests throw (MeshError). */
export async function allAuditEntries(client: BrokerClient): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for (;;) {
    const { entries } = await client.request("audit_log", { afterSeq: out.length, limit: MAX_PAGE });
    out.push(...(entries as ChainEntry[]));
    if (entries.length < MAX_PAGE) return out;
  }
}
