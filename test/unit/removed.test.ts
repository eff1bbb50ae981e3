// closedAsRemoved (src/client/removed.ts), the test the CLI and the MCP server use to record a
// removal in the config, holds exactly when closedForGood's error is `revoked`.
import { expect, test } from "bun:test";
import { CloseCode } from "../../src/protocol/close-codes.ts";
import { closedAsRemoved, closedForGood } from "../../src/client/removed.ts";

test("closedAsRemoved agrees with closedForGood for every close code and reason", () => {
  const codes = [undefined, ...Object.values(CloseCode), 1006, 4999];
  const reasons = [undefined, "", "revoked", "unauthorized", "kicked", "banned"];
  for (const code of codes) {
    for (const reason of reasons) expect({ code, reason, removed: closedAsRemoved(code, reason) }).toEqual({ code, reason, removed: closedForGood("team", code, reason).code === "revoked" });
  }
});
