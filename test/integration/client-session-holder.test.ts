// Two processes of one session key (the MCP server of a Claude Code session started again), each
// told by local evidence which of them holds the session (ClientOptions.sessionHold). The older
// one's hello went out before it could see the newer one, and took the key back: the newer one,
// closed with 4004, reconnects instead of stopping, and the older one, closed with 4004 in turn,
// stops (docs/decisions.md, session 27).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { BrokerClient } from "../../src/client/client.ts";
import type { ClientOptions } from "../../src/client/client-options.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

test("a 4004 from an older process of the session makes the holder reconnect, and the older one stop", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const credentials: ClientOptions["credentials"] = { kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: owner.keys, sessionKeys: generateSigningKeypair() };
  const client = (holder: "this" | "another", states: string[]) =>
    new BrokerClient({ url: b.url, credentials, where: { sessionId: "s-held", pid: 1, cwd: "/tmp" }, firstConnect: "retry", sessionHold: { holder: () => holder, anotherAnswers: async () => true }, random: () => 0, onState: (s, d) => states.push(`${s}:${d.code ?? ""}`) });
  const newerStates: string[] = [];
  const olderStates: string[] = [];
  const newer = client("this", newerStates);
  await newer.connect();
  const older = client("another", olderStates);
  await older.connect(); // takes the key over: the broker closes the newer one with 4004
  await until(() => olderStates.includes("closed:4004") && newerStates.length >= 3, "the older process closed again, the newer one open again", 10_000);
  expect({ older: olderStates, newer: newerStates }).toEqual({ older: ["open:", "closed:4004"], newer: ["open:", "reconnecting:4004", "open:"] });
  expect(await newer.request("list_peers", {})).toMatchObject({ peers: expect.any(Array) });
  newer.close();
}, 20_000);
