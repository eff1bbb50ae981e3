// inviteState, which `invite list` and the dashboard's invites view both show: revoked first, then
// used up (also after the expiry, so an audit still sees that every use was claimed), then expired.
import { expect, test } from "bun:test";
import { inviteState } from "../../src/protocol/results.ts";

test("an invite's state, the first that applies: revoked, used up, expired, active", () => {
  const now = 1_000_000;
  const at = (revokedAt: number | null, usedCount: number, expiresAt: number) => inviteState({ revokedAt, usedCount, maxUses: 2, expiresAt }, now);
  expect([
    at(null, 0, now + 60),
    at(null, 1, now + 60),
    at(null, 2, now + 60),
    at(null, 2, now - 60),
    at(null, 1, now - 60),
    at(now - 30, 2, now - 60),
    at(now - 30, 0, now + 60),
  ]).toEqual(["active", "active", "used up", "used up", "expired", "revoked", "revoked"]);
});
