// What a tool says of a mesh it cannot use now (src/mcp/link-state.ts): a first connection still
// under way is not called a reconnect (a slow link takes several seconds to open), a reconnect is,
// and a refusal for good gives its own reason; an address where nothing answers names the command
// that gives a moved broker's new one.
import { expect, test } from "bun:test";
import { notOpen } from "../../src/mcp/link-state.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { unreachable } from "../../src/client/broker-trouble.ts";

const link = (state: "connecting" | "open" | "reconnecting" | "closed", over: { closedFor?: MeshError; lastFailure?: MeshError } = {}) => ({
  label: "team",
  slug: "team",
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

test("an address where nothing answers names set-broker, which the session follows without a restart", () => {
  const refused = unreachable("http://127.0.0.1:7900", { code: "ECONNREFUSED" })!;
  expect(notOpen(link("reconnecting", { lastFailure: refused }))?.message).toEndWith(
    "Its last attempt: Cannot reach the broker at http://127.0.0.1:7900 (connection refused): nothing was sent. Is it running, and is the URL right? Fix: if the broker moved to a new address: claudemesh set-broker <new URL> --mesh team (it checks that the address serves this mesh before saving it); it connects by itself at its next attempt, without a restart.",
  );
  // A broker that answered is where it was: no such fix.
  expect(notOpen(link("reconnecting", { lastFailure: new MeshError("unavailable", "The broker at http://127.0.0.1:7900 answered HTTP 502.") }))?.message).not.toContain("set-broker");
});
