// What a sending tool says when a step before its `send` request failed (src/mcp/not-sent.ts): the
// broker's failures become "Nothing was sent … Try again"; refusals and the send's own error pass.
import { expect, test } from "bun:test";
import { notSent } from "../../src/mcp/not-sent.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { SendError } from "../../src/client/send-error.ts";

const say = (code: "timeout" | "unavailable" | "internal") => (notSent(new MeshError(code, "Listing peers failed: …"), 'looking up "bob"', "team-x") as MeshError).message;

test("a broker failure of the lookup says nothing was sent, why, and to try again", () => {
  expect(say("timeout")).toBe('Nothing was sent: looking up "bob" on mesh team-x failed (the broker did not answer in time), before the message went out. Try again (the same call; it reconnects by itself).');
  expect(say("unavailable")).toContain("(the broker could not be reached)");
  expect(say("internal")).toContain("(the broker failed (internal error))");
});

test("a refusal, the send's own error and a non-MeshError pass through unchanged", () => {
  const refusal = new MeshError("unknown_recipient", "No such peer.");
  const send = new SendError(new MeshError("timeout", "Sending the message failed."), "cm_1");
  const other = new Error("boom");
  for (const err of [refusal, send, other]) expect(notSent(err, "checking the recipient", "team-x")).toBe(err);
});
