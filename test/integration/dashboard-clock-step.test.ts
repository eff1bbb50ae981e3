// Dashboard sessions across a wall-clock step (src/broker/dashboard-sessions.ts; docs/security.md
// "The web dashboard"): a session lasts SESSION_TTL_MS from its login, measured on the monotonic
// clock, whatever the wall clock did meanwhile. The broker's host clock is an hour fast, a member
// signs in, the clock is set right, others sign in; SESSION_TTL_MS later every one of them is
// signed out, the early one too (judged on the wall clock it lived the hour longer).
import { describe, expect, test } from "bun:test";
import { SESSION_TTL_MS } from "../../src/broker/dashboard-sessions.ts";
import { startBroker } from "../helpers/broker.ts";
import { call, loginOf, session } from "../helpers/dashboard.ts";
import { addMember, createTestMesh } from "../helpers/mesh.ts";
import { steppableWallClock } from "../helpers/wall-clock.ts";

const HOUR = 60 * 60_000;

describe("dashboard sessions and a wall clock set back", () => {
  test("a session opened while the clock was an hour fast ends SESSION_TTL_MS after its login, as those opened after the clock was set right", async () => {
    using clock = steppableWallClock();
    clock.step(HOUR);
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const early = await session(b, owner);
    clock.step(-HOUR); // set right, as NTP would
    const late = await session(b, bob);
    const status = async (cookie: string) => (await call(b, "GET", "/v1/dashboard/me", { cookie })).status;
    const before = { early: await status(early), late: await status(late) };

    clock.elapse(SESSION_TTL_MS);
    const fresh = await session(b, bob);
    expect({ before, after: { early: await status(early), late: await status(late), fresh: await status(fresh) } }).toEqual({
      before: { early: 200, late: 200 },
      after: { early: 401, late: 401, fresh: 200 },
    });
  }, 30_000);

  test("/me says when the session ends by the wall clock of now: set back an hour, it reads an hour before what the login said (the same SESSION_TTL_MS after the login)", async () => {
    using clock = steppableWallClock();
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const login = await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, owner) });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    clock.step(-HOUR);
    const me = await call(b, "GET", "/v1/dashboard/me", { cookie });
    expect(Math.abs(me.body.sessionExpiresAt - (login.body.expiresAt - HOUR))).toBeLessThan(5_000);
  }, 30_000);
});
