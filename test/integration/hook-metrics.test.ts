// broker_hook_requests_total{outcome} counts every POST /hook/set-status, whatever answered it:
// `ok`, or the error code of the answer, refusals of the body's parse and schema checks included
// (docs/protocol.md §6.6, docs/operations.md "Metrics").
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/cli.ts";

const hook = (b: TestBroker, token: string, body: string) =>
  fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });

/** The hook counter's value per outcome, as /metrics publishes it. */
async function outcomes(b: TestBroker): Promise<Record<string, number>> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^broker_hook_requests_total\{outcome="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

test("refused hook requests are counted under the code they were answered with", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const a = await connect(b.url, owner);
  const token = a.ack.hookToken;
  const cases: [body: string, token: string, status: number, code: string][] = [
    [JSON.stringify({ status: "working" }), token, 200, "ok"],
    [JSON.stringify({ status: "sleeping" }), token, 400, "invalid_argument"], // schema
    [JSON.stringify({ status: "idle", cwd: "/elsewhere" }), token, 400, "invalid_argument"], // unknown field
    ["{not json", token, 400, "invalid_json"],
    ["[".repeat(100) + "]".repeat(100), token, 400, "too_deep"],
    [JSON.stringify({ status: "idle" }), "not-a-token", 401, "unauthorized"],
  ];
  for (const [body, t, status, code] of cases) {
    const res = await hook(b, t, body);
    const json = (await res.json()) as { ok?: true; error?: { code: string } };
    expect({ status: res.status, code: json.error?.code ?? (json.ok && "ok") }).toEqual({ status, code });
  }
  // Counted once the answer is out (a moment after the client may have it).
  const want = { ok: 1, invalid_argument: 2, invalid_json: 1, too_deep: 1, unauthorized: 1 };
  await until(async () => Object.keys(await outcomes(b)).length === Object.keys(want).length, "every outcome counted", 4000);
  expect(await outcomes(b)).toEqual(want);
  a.close();
});
