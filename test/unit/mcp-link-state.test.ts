// What a tool says of a mesh it cannot use now (src/mcp/link-state.ts): a first connection still
// under way is not called a reconnect (a slow link takes several seconds to open), a reconnect is,
// and a refusal for good gives its own reason.
import { expect, test } from "bun:test";
import { notOpen } from "../../src/mcp/link-state.ts";
import { MeshError } from "../../src/protocol/errors.ts";

const link = (state: "connecting" | "open" | "reconnecting" | "closed", over: { closedFor?: MeshError; lastFailure?: MeshError } = {}) => ({
  label: "team",
  state,
  closedFor: over.closedFor ?? null,
  lastFailure: over.lastFailure ?? null,
});

test("each state is named as it is", () => {
  expect(notOpen(link("open"))).toBeNull();
  expect(notOpen(link("connecting"))?.message).toBe("Not connected to mesh team yet: its first connection is still under way (a slow link can take several seconds). Try again shortly.");
  expect(notOpen(link("reconnecting"))?.message).toBe("Not connected to mesh team right now (reconnecting); it reconnects by itself. Try again shortly.");
  expect(notOpen(link("connecting", { lastFailure: new MeshError("unavailable", "the certificate is self-signed.") }))?.message).toEndWith("Try again shortly. Its last attempt: the certificate is self-signed.");
  const kicked = new MeshError("revoked", "You were removed from mesh team.");
  expect(notOpen(link("closed", { closedFor: kicked }))).toBe(kicked);
});
