// What the page says about members, shared by its views.
import type { MemberInfo } from "../../src/protocol/results.ts";

/** How a member stopped being one. The broker records a member's own `leave` as a removal with
 *  the reason "left" (and never bans for it); it is shown as such, since a teammate who left is
 *  not one who was removed. */
export const departure = (m: MemberInfo): "left" | "removed" | "banned" => (m.banned ? "banned" : m.revokedReason === "left" ? "left" : "removed");
