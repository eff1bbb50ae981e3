// The Invites view's list, read page after page (docs/protocol.md §4.3.23 and §6.7): invites are
// never deleted, so a mesh's list only grows, and the broker gives it a page at a time. The view
// shows a batch, and "Show more" reads the next one from where the last stopped.
import { get } from "./api.ts";
import type { InvitePage } from "./types.ts";

/** Invites one batch holds: as many as a table shows at a glance. */
export const BATCH = 100;
/** Most pages one batch asks for. Each `open` page looks at up to 5,000 invites (INVITE_PAGE_SCAN)
 *  and may hold none while the list goes on: a batch stops after this many, and "Show more" goes
 *  on from there. */
const MAX_ASKS = 10;

/** The invites after `after` (null: from the first), the open ones only when `open`, until BATCH
 *  of them, the list's end or MAX_ASKS pages; `next` is where the list goes on, null at its end (a
 *  broker from before pages gives every invite at once, and no `next`). Rejects with the ApiError
 *  of a refused page. */
export async function readBatch(open: boolean, after: string | null): Promise<InvitePage> {
  const invites: InvitePage["invites"] = [];
  let next = after;
  for (let asks = 0; asks < MAX_ASKS; asks++) {
    const query = new URLSearchParams({ open: String(open), limit: String(BATCH - invites.length) });
    if (next !== null) query.set("after", next);
    const page = await get<InvitePage>(`/v1/dashboard/invites?${query}`);
    invites.push(...page.invites);
    next = page.next ?? null;
    if (next === null || invites.length >= BATCH) break;
  }
  return { invites, next };
}

/** The first `batches` batches (what the view showed before it is drawn again), and where the list
 *  goes on after them. */
export async function readBatches(open: boolean, batches: number): Promise<InvitePage> {
  const invites: InvitePage["invites"] = [];
  let next: string | null = null;
  for (let i = 0; i < batches && (i === 0 || next !== null); i++) {
    const batch = await readBatch(open, next);
    invites.push(...batch.invites);
    next = batch.next;
  }
  return { invites, next };
}
