// BrokerClient's callbacks against a real broker (docs/protocol.md §10): a caller's onState that
// throws (a bug of the caller's) must not change what the client does next: settle connect(),
// send what waited, reconnect. The client runs in a process of its own, as in real use, where an
// exception thrown from a WebSocket handler is reported and the process goes on.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText, textOf, type TestMember } from "../helpers/mesh.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { until } from "../helpers/until.ts";

const CHILD = resolve(import.meta.dir, "../fixtures/client-throwing-callback.ts");

async function runChild(port: number, member: TestMember, throwOn: string): Promise<{ lines: string[]; exitCode: number }> {
  const proc = Bun.spawn(["bun", CHILD, String(port), throwOn], { stdout: "pipe", stderr: "ignore", env: { ...process.env, CM_MEMBER: JSON.stringify(member) } });
  const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const out = await new Response(proc.stdout).text();
  const exitCode = await proc.exited;
  clearTimeout(killer);
  return { lines: out.trim().split("\n"), exitCode };
}

describe("client callbacks", () => {
  // It left connect() pending for good, and the client taking the next drop for a failed first
  // connect: closed for good instead of reconnecting.
  test("an onState('open') callback that throws does not leave connect() pending", async () => {
    await using b = await startBroker();
    expect(await runChild(b.port, (await createTestMesh(b.url)).owner, "open")).toEqual({ lines: ["connect open", "reconnect open"], exitCode: 0 });
  }, 20_000);

  // It armed no reconnect timer: the client stayed "reconnecting" for good.
  test("an onState('reconnecting') callback that throws does not stop the reconnect", async () => {
    await using b = await startBroker();
    expect(await runChild(b.port, (await createTestMesh(b.url)).owner, "reconnecting")).toEqual({ lines: ["connect open", "reconnect open"], exitCode: 0 });
  }, 20_000);
});

describe("client callbacks and the queue", () => {
  // A send made from onState("open") went out before the sends queued while disconnected, which
  // were made before it: the recipient read them out of order.
  test("sends queued while reconnecting go out before one made from the onState('open') callback", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const rb = await connect(b.url, bob);
    using proxy = linkProxy(b.port);
    let dropped = false;
    let later: Promise<unknown> | null = null;
    const a = await connect(proxy.url, owner, {}, {
      random: () => 0,
      onState: (s) => {
        if (s === "reconnecting") dropped = true;
        if (s === "open" && dropped && !later) later = sendText(a, bob.keys.publicKey, "made after reconnecting");
      },
    });
    proxy.cut();
    await until(() => dropped, "the drop");
    const queued = sendText(a, bob.keys.publicKey, "made while reconnecting");
    await queued;
    await until(() => later !== null, "the send from onState");
    await later;
    expect((await rb.waitMessages(2)).map(textOf)).toEqual(["made while reconnecting", "made after reconnecting"]);
    a.close();
    rb.close();
  }, 15_000);
});
