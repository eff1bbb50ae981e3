// The dashboard's operator views without a browser (docs/dashboard.md, "The operator view"): refused
// without the operator token; the Bearer token or its cookie opens them; `claudemesh admin token`
// replaces the token while the broker runs; and the OpenAPI document lists every dashboard route.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { cli, identities, ok } from "../helpers/cli.ts";
import { call, code, session } from "../helpers/dashboard.ts";

describe("operator views", () => {
  test("refused without the token; the Bearer token or its cookie opens them; admin token replaces it", async () => {
    await using b = await startBroker({}, { keepData: true });
    const { owner } = await createTestMesh(b.url, "alice");
    const memberCookie = await session(b, owner);
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview"))).toEqual({ status: 401, code: "unauthorized" });
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview", { cookie: memberCookie }))).toEqual({ status: 401, code: "unauthorized" });
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview", { headers: { authorization: "Bearer cmo_wrong" } }))).toEqual({ status: 401, code: "unauthorized" });
    const first = b.firstRunToken!;
    const bearer = await call(b, "GET", "/v1/dashboard/operator/overview", { headers: { authorization: `Bearer ${first}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.body.meshes.map((m: any) => m.id)).toEqual([owner.meshId]);
    expect(bearer.body.health.writable).toBe(true);
    expect(code(await call(b, "POST", "/v1/dashboard/operator/login", { body: { token: "cmo_wrong" } }))).toEqual({ status: 401, code: "unauthorized" });
    const login = await call(b, "POST", "/v1/dashboard/operator/login", { body: { token: first } });
    const opCookie = login.headers.get("set-cookie")!;
    expect(opCookie).toMatch(/^cm_operator=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect((await call(b, "GET", "/v1/dashboard/operator/overview", { cookie: opCookie.split(";")[0] })).status).toBe(200);
    expect((await call(b, "GET", "/v1/dashboard/session", { cookie: opCookie.split(";")[0] })).body).toEqual({ member: false, operator: true });

    // claudemesh admin token, from another process, while this broker runs.
    await using ids = identities(1);
    const issued = ok(await cli(ids.dirs[0]!, ["admin", "token", "--data-dir", b.dataDir, "--json"])).json();
    expect(issued.operatorToken).toStartWith("cmo_");
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview", { headers: { authorization: `Bearer ${first}` } }))).toEqual({ status: 401, code: "unauthorized" });
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview", { cookie: opCookie.split(";")[0] }))).toEqual({ status: 401, code: "unauthorized" });
    expect((await call(b, "GET", "/v1/dashboard/operator/overview", { headers: { authorization: `Bearer ${issued.operatorToken}` } })).status).toBe(200);
    const missing = await cli(ids.dirs[0]!, ["admin", "token", "--data-dir", `${b.dataDir}/nowhere`]);
    expect({ code: missing.code, err: missing.stderr }).toMatchObject({ code: 4, err: expect.stringContaining("No broker database") });
  }, 30_000);

  test("the OpenAPI document lists the dashboard routes", async () => {
    await using b = await startBroker();
    const spec = await (await fetch(`${b.url}/docs/json`)).json();
    expect(Object.keys(spec.paths).filter((p) => p.startsWith("/v1/dashboard/")).sort()).toEqual([
      "/v1/dashboard/audit",
      "/v1/dashboard/charts",
      "/v1/dashboard/events",
      "/v1/dashboard/grants",
      "/v1/dashboard/invites",
      "/v1/dashboard/invites/{inviteId}/revoke",
      "/v1/dashboard/login",
      "/v1/dashboard/logout",
      "/v1/dashboard/me",
      "/v1/dashboard/mesh",
      "/v1/dashboard/operator/login",
      "/v1/dashboard/operator/overview",
      "/v1/dashboard/session",
      "/v1/dashboard/topics",
      "/v1/dashboard/topics/{topic}/history",
      "/v1/dashboard/topics/{topic}/messages",
    ]);
  });
});
