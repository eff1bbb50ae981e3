// A mesh's invites from its broker, page after page (docs/protocol.md §4.3.23). Invites are never
// deleted, so the list only grows; the broker answers a page at a time, and says with `next`
// whether the list goes on. A broker from before pages refuses the request's fields as unknown
// ones (§1.2) and answers the plain request with every invite at once: the open ones, or the one
// asked for, are then selected here, and nothing is said to the user (nothing is missing).
import { MeshError } from "../protocol/errors.ts";
import { MAX_PAGE } from "../protocol/limits.ts";
import { inviteState, type InviteInfo } from "../protocol/results.ts";
import { malformedAnswer } from "./broker-trouble.ts";
import type { BrokerClient } from "./client.ts";

/** Which invites: only the open ones (not revoked, not used up, not expired), only one by id. */
export type InviteSelection = { open?: boolean; inviteId?: string };

/** How a broker from before pages refuses the fields: its codec's invalid_frame naming one of them,
 *  which the request table turns into unsupported_version with that refusal as the cause
 *  (broker-trouble.ts, olderBroker). */
const REFUSED_FIELD = /^Invalid invite_list frame at \/(afterInviteId|limit|open|inviteId): Unexpected property\.$/;
function refusedByOlderBroker(err: unknown): boolean {
  const refusal = err instanceof MeshError && err.code === "unsupported_version" && err.cause instanceof MeshError ? err.cause : err;
  return refusal instanceof MeshError && refusal.code === "invalid_frame" && REFUSED_FIELD.test(refusal.message);
}

/** Every invite of the mesh `sel` selects, oldest first, read in pages of the most the broker
 *  gives (MAX_PAGE). `nowS`: the time (seconds) by which this machine judges expiry, used only for
 *  an older broker's whole list; `timeoutMs`: each request's (the client's default without). Throws what the requests throw (MeshError); a broker that names a
 *  place it named before as `next` (it would never end) → MalformedAnswerError. */
export async function listInvites(client: BrokerClient, sel: InviteSelection, nowS = Date.now() / 1000, timeoutMs?: number): Promise<InviteInfo[]> {
  const fields = { limit: MAX_PAGE, open: sel.open === true, ...(sel.inviteId === undefined ? {} : { inviteId: sel.inviteId }) };
  const out: InviteInfo[] = [];
  const seen = new Set<string>();
  let after: string | null = null;
  for (;;) {
    let page: Awaited<ReturnType<typeof client.request<"invite_list">>>;
    try {
      page = await client.request("invite_list", after === null ? fields : { ...fields, afterInviteId: after }, timeoutMs);
    } catch (err) {
      if (after === null && refusedByOlderBroker(err)) return wholeList(client, sel, nowS, timeoutMs);
      throw err;
    }
    out.push(...page.invites);
    if (page.next === null) return out;
    if (seen.has(page.next)) throw malformedAnswer(client.brokerBase, "invite_list", "its next names a place in the list it named before, so the pages would never end");
    seen.add(page.next);
    after = page.next;
  }
}

/** The invite `inviteId` of the mesh, in any state; null when the mesh has none. */
export async function findInvite(client: BrokerClient, inviteId: string): Promise<InviteInfo | null> {
  return (await listInvites(client, { inviteId }))[0] ?? null;
}

/** An older broker's answer to the plain request, every invite of the mesh, and `sel` applied here. */
async function wholeList(client: BrokerClient, sel: InviteSelection, nowS: number, timeoutMs: number | undefined): Promise<InviteInfo[]> {
  const { invites } = await client.request("invite_list", {}, timeoutMs);
  return invites.filter((i) => (sel.inviteId === undefined || i.inviteId === sel.inviteId) && (sel.open !== true || inviteState(i, nowS) === "active"));
}
