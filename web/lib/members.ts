// What the page says about members, shared by its views.
import { leftBySelf, type MemberInfo } from "../../src/protocol/results.ts";

/** How a member stopped being one, from who acted (`revokedBy`), never from the reason text: an
 *  owner may kick with the reason "left", and that is still a removal. A teammate who left is not
 *  one who was removed. */
export const departure = (m: MemberInfo): "left" | "removed" | "banned" => (m.banned ? "banned" : leftBySelf(m) ? "left" : "removed");
