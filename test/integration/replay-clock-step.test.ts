// A captured signature is useless whatever the broker's wall clock does (DESIGN.md §2; protocol.md
// §2.5, §8.3). A review replayed a member's hello after its replay-table row had been swept (kept
// until timestamp + 61 s) and the broker's clock was then set back 95 s (an NTP step correcting a
// fast clock): hello_ack as the member, and the replayer took the member's queued message. The
// sweep now keeps the spans of expiries it deleted, in the database: the same bytes are refused
// (timestamp_skew: the broker clock has passed that time before) for every user of the replay
// table, and after a restart too.
import { describe, expect, test } from "bun:test";
import { sweepRound } from "../../src/broker/timers.ts";
import { buildHello } from "../../src/client/credentials.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { brokerClock, startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { call, code, loginOf } from "../helpers/dashboard.ts";
import { signedHeaders } from "../helpers/http-fuzz.ts";
import { addMember, createTestMesh } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";

/** The first frame the broker answers `hello` with: hello_ack, or the refusal's code. */
async function helloAnswer(b: TestBroker, hello: unknown): Promise<string> {
  const s = await rawSocket(b.url);
  s.send(hello);
  const f = await s.next();
  s.ws.close();
  return f.type === "hello_ack" ? "hello_ack" : f.code;
}

const hook = (b: TestBroker, req: { body: string; headers: Record<string, string> }) =>
  fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { "content-type": "application/json", ...req.headers }, body: req.body }).then(async (r) => ({ status: r.status, code: r.ok ? "ok" : ((await r.json()) as any).error.code }));
const login = (b: TestBroker, body: unknown) => call(b, "POST", "/v1/dashboard/login", { body }).then((r) => (r.status === 200 ? "ok" : code(r).code));
const remembered = (b: TestBroker, sig: string) => (b.ctx.store as SqliteStore).db.query("SELECT 1 FROM seen_signatures WHERE signature = ?").all(sig).length;

describe("replays across a step back of the broker's clock", () => {
  test("a hello, a signed request and a dashboard link, replayed after the sweep forgot them and the clock went back, are refused, also after a restart", async () => {
    const dataDir = tempDir("cm-replay-step-");
    let captured: { hello: ReturnType<typeof buildHello>; request: { body: string; headers: Record<string, string> }; link: ReturnType<typeof loginOf> };
    {
      await using b = await startBroker({}, { dataDir });
      const { owner } = await createTestMesh(b.url);
      const bob = await addMember(b.url, owner, "bob");
      const body = JSON.stringify({ meshId: owner.meshId, status: "working" });
      captured = {
        hello: buildHello({ kind: "member", meshId: bob.meshId, memberId: bob.memberId, keys: bob.keys }, { sessionId: "s", pid: 4242, cwd: "/home/bob" }, Date.now()),
        request: { body, headers: signedHeaders("POST", "/hook/set-status", body, owner.keys) },
        link: loginOf(b, owner),
      };
      expect([await helloAnswer(b, captured.hello), (await hook(b, captured.request)).code, await login(b, captured.link)]).toEqual(["hello_ack", "ok", "ok"]);
      expect([await helloAnswer(b, captured.hello), (await hook(b, captured.request)).code, await login(b, captured.link)]).toEqual(["replayed", "replayed", "replayed"]);

      // Six minutes on (past the link's expiry too), a sweep forgets all three signatures.
      brokerClock(b, 6 * 60_000);
      await sweepRound(b.ctx);
      expect([captured.hello.signature, captured.request.headers["x-claudemesh-signature"]!, captured.link.signature].map((s) => remembered(b, s))).toEqual([0, 0, 0]);

      // The clock is set back six minutes: every one of them is within its window again.
      brokerClock(b, 0);
      expect([await helloAnswer(b, captured.hello), (await hook(b, captured.request)).code, await login(b, captured.link)]).toEqual(["timestamp_skew", "timestamp_skew", "expired"]);
      // A hello signed now cannot be told from one captured before the step (its expiry is among
      // those forgotten): it is refused until the clock has passed the last of them again.
      const fresh = (at: number) => buildHello({ kind: "member", meshId: bob.meshId, memberId: bob.memberId, keys: bob.keys }, { sessionId: "s", pid: 4242, cwd: "/home/bob" }, at);
      expect(await helloAnswer(b, fresh(Date.now()))).toBe("timestamp_skew");
      brokerClock(b, 5 * 60_000);
      expect(await helloAnswer(b, fresh(Date.now() + 5 * 60_000))).toBe("hello_ack");
      brokerClock(b, 0);
    }
    // A restart reads what the sweep forgot from the database.
    await using again = await startBroker({}, { dataDir });
    expect([await helloAnswer(again, captured.hello), (await hook(again, captured.request)).code, await login(again, captured.link)]).toEqual(["timestamp_skew", "timestamp_skew", "expired"]);
  });

  test("a broker alone set a week ahead for a sweep and then right again accepts fresh hellos at once", async () => {
    // Only the times of signatures it accepted are refused, not every time its clock showed.
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    brokerClock(b, 7 * 24 * 3600_000);
    await sweepRound(b.ctx);
    brokerClock(b, 0);
    await Bun.sleep(2); // a millisecond none of the signatures above was made in
    expect(await helloAnswer(b, buildHello({ kind: "member", meshId: bob.meshId, memberId: bob.memberId, keys: bob.keys }, { sessionId: "s", pid: 1, cwd: "/" }, Date.now()))).toBe("hello_ack");
  });
});
