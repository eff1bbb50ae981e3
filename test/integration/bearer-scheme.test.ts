// `Authorization: bearer …` is the same header as `Bearer …` (the scheme name is case-insensitive,
// RFC 9110 §11.1): the status hook's token and the operator token are taken in any case.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";

describe("bearer scheme", () => {
  test("the hook token and the operator token work with a lowercase or uppercase scheme", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const peer = await connect(b.url, owner);
    try {
      for (const scheme of ["bearer", "BEARER", "Bearer"]) {
        const hook = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `${scheme} ${peer.ack.hookToken}`, "content-type": "application/json" }, body: JSON.stringify({ status: "working" }) });
        expect({ scheme, status: hook.status }).toEqual({ scheme, status: 200 });
        const op = await fetch(`${b.url}/v1/dashboard/operator/overview`, { headers: { authorization: `${scheme} ${b.firstRunToken}` } });
        expect({ scheme, status: op.status }).toEqual({ scheme, status: 200 });
      }
    } finally {
      peer.close();
    }
  });
});
