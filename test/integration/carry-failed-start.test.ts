// A start that cannot open its port (another program holds it) must not use up the presences the
// previous broker wrote down: the start that succeeds after it takes them in (review of session 35).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";

test("presences written down at a clean stop survive a start that failed to open the port", async () => {
  const grace = { presenceGrace: 20_000 };
  const first = await startBroker(grace, { keepData: true });
  const { owner } = await createTestMesh(first.url);
  const peer = await connect(first.url, owner);
  await first.stop();
  peer.close();

  // Another program on the port: the next start fails.
  const holder = Bun.listen({ hostname: "127.0.0.1", port: first.port, socket: { data() {} } });
  const failed = await startBroker({ ...grace, port: first.port }, { dataDir: first.dataDir, keepData: true }).then(
    (b) => b,
    (err: Error) => err,
  );
  holder.stop(true);
  expect(failed).toBeInstanceOf(Error);

  await using again = await startBroker({ ...grace, port: first.port }, { dataDir: first.dataDir });
  expect(again.ctx.hub.size).toBe(1);
});
