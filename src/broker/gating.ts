// Priority gating by recipient status, as in the seeds: `now` always passes; `next` and `low`
// wait while the recipient is working or on dnd, and are released when it becomes idle.
import type { Priority, Status } from "../protocol/fields.ts";

const OPEN: readonly Priority[] = ["now", "next", "low"];
const URGENT_ONLY: readonly Priority[] = ["now"];

/** Priorities a recipient with this status may be pushed. Pulls (fetch) ignore the gate. */
export function deliverable(status: Status): readonly Priority[] {
  return status === "idle" ? OPEN : URGENT_ONLY;
}

export function passes(status: Status, priority: Priority): boolean {
  return priority === "now" || status === "idle";
}

export type StatusSource = "manual" | "hook";

/** dnd is sticky: a hook (automatic) status change never clears a dnd the user set by hand. */
export function nextStatus(current: Status, requested: Status, source: StatusSource): Status {
  if (current === "dnd" && source === "hook") return "dnd";
  return requested;
}
