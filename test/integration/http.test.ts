// HTTP routes: health, readiness (503 when the database cannot be written), metrics, the offline
// API reference, signed mesh creation. The status hook is in hook.test.ts.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh } from "../helpers/mesh.ts";
import { createMesh, signedPost } from "../../src/client/http.ts";
import { generateSigningKeypair, signDetached } from "../../src/crypto/sign.ts";
import { randomId, sha256Hex } from "../../src/crypto/hash.ts";
import { inviteClaimCanonical, requestCanonical } from "../../src/protocol/canonical.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { Database } from "bun:sqlite";
import { MESH_CREATE_BURST } from "../../src/broker/http/meshes.ts";
import { join } from "node:path";
import { connect as tcp } from "node:net";
import { readFileSync } from "node:fs";
import { fencedBlocks } from "../helpers/markdown.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { VERSION } from "../../src/version.ts";
import { brokerBase } from "../../src/client/broker-url.ts";

describe("operations endpoints", () => {
  test("/health and /health/ready; readiness is 503 while the database refuses writes", async () => {
    await using b = await startBroker();
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    const ready = await fetch(`${b.url}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { status: "ready", reason: null } });
    const db = (b.ctx.store as SqliteStore).db;
    db.run("PRAGMA query_only = ON");
    const broken = await fetch(`${b.url}/health/ready`);
    expect({ status: broken.status, reason: (await broken.json()).reason }).toEqual({ status: 503, reason: "db_unwritable" });
    const live = await fetch(`${b.url}/health`);
    expect({ status: live.status, db: (await live.json()).db }).toEqual({ status: 200, db: "down" });
    db.run("PRAGMA query_only = OFF");
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(200);
  });

  test("while another process holds the database's write lock, /health, /health/ready and /metrics answer at once", async () => {
    await using b = await startBroker();
    // A second connection stands for an operator's sqlite3 shell or a stuck maintenance job.
    const holder = new Database(join(b.dataDir, "claudemesh.db"));
    holder.run("BEGIN IMMEDIATE");
    holder.run("INSERT OR REPLACE INTO broker_meta (key, value) VALUES ('held', 'x')");
    const timed = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(`${b.url}${path}`);
      const body = path === "/metrics" ? null : await res.json();
      return { status: res.status, body, fast: performance.now() - t0 < 1000 };
    };
    try {
      expect(await timed("/health")).toMatchObject({ status: 200, body: { status: "ok" }, fast: true });
      expect(await timed("/health/ready")).toMatchObject({ status: 503, body: { reason: "db_unwritable" }, fast: true });
      expect(await timed("/metrics")).toMatchObject({ status: 200, fast: true });
    } finally {
      holder.run("COMMIT");
      holder.close();
    }
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(200);
  });

  test("liveness never writes to the database", async () => {
    await using b = await startBroker();
    const db = (b.ctx.store as SqliteStore).db;
    const changes = () => db.query<{ n: number }, []>("SELECT total_changes() AS n").get()!.n;
    const before = changes();
    for (let i = 0; i < 20; i++) expect((await fetch(`${b.url}/health`)).status).toBe(200);
    expect(changes()).toBe(before);
  });

  test("broker_db_healthy is 1 from the start and follows the database", async () => {
    await using b = await startBroker();
    const gauge = async () => (await (await fetch(`${b.url}/metrics`)).text()).split("\n").find((l) => l.startsWith("broker_db_healthy "));
    expect(await gauge()).toBe("broker_db_healthy 1");
    const db = (b.ctx.store as SqliteStore).db;
    db.run("PRAGMA query_only = ON");
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(503);
    expect(await gauge()).toBe("broker_db_healthy 0");
    db.run("PRAGMA query_only = OFF");
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(200);
    expect(await gauge()).toBe("broker_db_healthy 1");
  });

  test("a Host header no URL can be made of is a 400 JSON error with the usual headers, not Bun's debug page", async () => {
    await using b = await startBroker();
    const { port } = new URL(b.url);
    for (const host of ["a b", "[zz", "a:99999", "%zz"]) {
      const raw = await new Promise<string>((resolve, reject) => {
        let text = "";
        const socket = tcp({ host: "127.0.0.1", port: Number(port) }, () => socket.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
        socket.on("data", (d) => (text += d.toString()));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      const [head, body] = raw.split("\r\n\r\n") as [string, string];
      expect({ host, status: head.split("\r\n")[0], json: head.toLowerCase().includes("content-type: application/json"), csp: head.toLowerCase().includes("content-security-policy:"), cwd: raw.includes(process.cwd()) }).toEqual({ host, status: "HTTP/1.1 400 Bad Request", json: true, csp: true, cwd: false });
      expect(body).toContain('"code":"invalid_argument"');
    }
  });

  test("a request whose handling throws gets a JSON 500 with the usual headers, and the error is logged", async () => {
    await using b = await startBroker();
    // A fault on the WebSocket admission path, which runs outside the HTTP framework's own handler.
    b.ctx.metrics.connectionsRejected.inc = () => {
      throw new Error("injected fault");
    };
    const res = await fetch(`${b.url}/ws`, { headers: { origin: "https://example.com", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect({ status: res.status, type: res.headers.get("content-type"), csp: res.headers.has("content-security-policy"), body: await res.json() }).toEqual({
      status: 500,
      type: expect.stringContaining("application/json"),
      csp: true,
      body: { error: expect.objectContaining({ code: "internal" }) },
    });
    expect(b.logs.some((l) => JSON.parse(l).msg === "HTTP request failed")).toBe(true);
  });

  test("a deeply nested JSON body is a 400 too_deep, and nothing is logged as an error", async () => {
    await using b = await startBroker();
    for (const [path, depth] of [["/hook/set-status", 40], ["/hook/set-status", 50_000], ["/v1/meshes", 50_000], ["/v1/dashboard/login", 50_000]] as const) {
      const res = await fetch(`${b.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "[".repeat(depth) + "]".repeat(depth) });
      expect({ path, depth, status: res.status, code: (await res.json()).error.code }).toEqual({ path, depth, status: 400, code: "too_deep" });
    }
    expect(b.logs.filter((l) => JSON.parse(l).level === "error")).toEqual([]);
  });

  test("/metrics exposes the broker series", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const a = await connect(b.url, owner);
    const text = await (await fetch(`${b.url}/metrics`)).text();
    for (const series of [
      "broker_connections_total",
      "broker_connections_rejected_total",
      "broker_connections_active 1",
      "broker_messages_routed_total",
      "broker_messages_rejected_total",
      "broker_messages_dropped_by_grant_total",
      "broker_queue_depth",
      "broker_hook_requests_total",
      "broker_db_healthy",
      `broker_build_info{version="${VERSION}"} 1`,
    ]) {
      expect(text).toContain(series);
    }
    a.close();
  });

  test("the API reference and OpenAPI document are served without any external URL", async () => {
    await using b = await startBroker();
    const html = await (await fetch(`${b.url}/docs`)).text();
    // Relative, so that the page works behind a proxy that serves the broker under a path.
    expect(html).toContain('src="docs/scalar.js"');
    expect(html).not.toMatch(/https?:\/\/(?!localhost)[a-z]/i);
    const js = await fetch(`${b.url}/docs/scalar.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(100_000);
    // With a trailing slash the page must still find its spec: /docs/ is sent back to /docs.
    const slashed = await fetch(`${b.url}/docs/`);
    const specUrl = new URL(/data-url="([^"]+)"/.exec(await slashed.text())![1]!, slashed.url);
    expect({ page: slashed.url, spec: specUrl.href, status: (await fetch(specUrl)).status }).toEqual({ page: `${b.url}/docs`, spec: `${b.url}/docs/json`, status: 200 });
    // The page's spec, its script and any other /docs… path carry the dashboard's CSP like every
    // other response; the page itself one that allows its inline script, and still no framing.
    for (const path of ["/docs/json", "/docs/scalar.js", "/docsx", "/docs/anything"]) {
      expect({ path, csp: (await fetch(`${b.url}${path}`)).headers.get("content-security-policy") }).toEqual({ path, csp: expect.stringContaining("script-src 'self' 'wasm-unsafe-eval'") });
    }
    const h = (await fetch(`${b.url}/docs`)).headers;
    expect({ csp: h.get("content-security-policy"), frame: h.get("x-frame-options"), sniff: h.get("x-content-type-options") }).toEqual({
      csp: expect.stringMatching(/script-src 'self' 'unsafe-inline'.*frame-ancestors 'none'/),
      frame: "DENY",
      sniff: "nosniff",
    });
    // The redirect is relative, so that it stays under a proxy's path, for a read of either kind.
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(`${b.url}/docs/`, { method, redirect: "manual" });
      expect({ method, status: res.status, location: res.headers.get("location"), frame: res.headers.get("x-frame-options") }).toEqual({ method, status: 308, location: "../docs", frame: "DENY" });
    }
    const spec = await (await fetch(`${b.url}/docs/json`)).json();
    // The dashboard's routes are pinned in test/integration/dashboard-http.test.ts.
    expect(Object.keys(spec.paths).filter((p) => !p.startsWith("/v1/dashboard/")).sort()).toEqual(["/health", "/health/ready", "/hook/set-status", "/metrics", "/v1/invites/{inviteId}/claim", "/v1/meshes"]);
    // The client's list of these routes (a route pasted for a broker's base URL is refused) keeps
    // up with the broker's: every documented path is refused as such.
    const pasted = Object.keys(spec.paths).map((p) => `${b.url}/mesh${p.replace(/\{[^}]+\}/g, "x1")}`);
    const accepted = (u: string) => {
      try {
        return Boolean(brokerBase(u));
      } catch (err) {
        return !(err as Error).message.includes("is the address of the broker's");
      }
    };
    expect(pasted.filter(accepted)).toEqual([]);
  });
});

// The API reference names each route's credentials and answers (src/broker/http/openapi.ts): a
// client generated from it must not be told "200" where the route answers 201, nor be left
// without the headers a signed route needs.
describe("the OpenAPI document", () => {
  test("states credentials, success statuses and query parameters; a bare request gets a status it lists", async () => {
    await using b = await startBroker();
    const spec = await (await fetch(`${b.url}/docs/json`)).json();
    const op = (method: string, path: string) => spec.paths[path][method];
    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual(["hookToken", "memberSession", "operatorSession", "operatorToken", "pageKey", "pageKeyQuery", "signature", "signedAt", "signingKey"]);
    expect(op("post", "/v1/meshes").security).toEqual([{ signingKey: [], signedAt: [], signature: [] }]);
    expect(op("post", "/hook/set-status").security).toEqual([{ hookToken: [] }, { signingKey: [], signedAt: [], signature: [] }]);
    expect(op("get", "/v1/dashboard/operator/overview").security).toEqual([{ operatorSession: [], pageKey: [] }, { operatorToken: [] }]);
    for (const [method, path] of [["post", "/v1/meshes"], ["post", "/v1/invites/{inviteId}/claim"], ["post", "/v1/dashboard/invites"], ["post", "/v1/dashboard/topics/{topic}/messages"]]) {
      expect({ method, path, created: "201" in op(method!, path!).responses }).toEqual({ method, path, created: true });
    }
    expect(op("get", "/v1/dashboard/topics/{topic}/history").parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(["path:topic", "query:after"]);
    expect(op("get", "/v1/dashboard/events").parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(["query:pageKey"]);
    expect(op("post", "/v1/meshes").responses["401"]).toEqual({ description: "`unauthorized`, `timestamp_skew`, `bad_signature`, `replayed`", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
    // Every route, asked with no credentials and an empty JSON body, answers a status its entry lists.
    for (const [path, methods] of Object.entries<Record<string, { responses: Record<string, unknown>; security: unknown[] }>>(spec.paths)) {
      for (const [method, entry] of Object.entries(methods)) {
        const url = `${b.url}${path.replace("{inviteId}", "AbCdEf1234").replace("{topic}", "general")}`;
        const res = await fetch(url, { method, ...(method === "post" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
        await res.body?.cancel();
        expect({ method, path, status: res.status, listed: String(res.status) in entry.responses }).toEqual({ method, path, status: res.status, listed: true });
        // (A POST's empty body fails its schema first, §6.1.)
        if (method === "get" && entry.security.length > 0) expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
      }
    }
  });
});

// First-run review L21: `GET /v1/meshes` said only "No such route."; then a 404 naming the method
// to use. A path that exists under other methods is 405 method_not_allowed (RFC 9110), with Allow
// (docs/protocol.md §6.1).
describe("a route asked with the wrong method", () => {
  test("is a 405 method_not_allowed that names the method to use, with Allow; an unknown path is a 404 as before", async () => {
    await using b = await startBroker();
    const probe = async (method: string, path: string) => {
      const res = await fetch(`${b.url}${path}`, { method });
      return { status: res.status, allow: res.headers.get("allow"), body: await res.json() };
    };
    const wrong = (method: string, path: string, allow: string) => ({ status: 405, allow: allow.replace(" or ", ", "), body: { error: { code: "method_not_allowed", message: `${method} is not allowed on ${path}; use ${allow}.`, retryable: false } } });
    expect(await probe("GET", "/v1/meshes")).toEqual(wrong("GET", "/v1/meshes", "POST"));
    expect(await probe("DELETE", "/v1/meshes")).toEqual(wrong("DELETE", "/v1/meshes", "POST"));
    expect(await probe("GET", "/v1/invites/AbCdEf123/claim")).toEqual(wrong("GET", "/v1/invites/AbCdEf123/claim", "POST"));
    expect(await probe("GET", "/hook/set-status")).toEqual(wrong("GET", "/hook/set-status", "POST"));
    for (const path of ["/health", "/health/ready", "/metrics", "/metrics/", "/docs", "/docs/", "/docs/json", "/", "/join"]) expect(await probe("POST", path)).toEqual(wrong("POST", path, "GET or HEAD"));
    expect(await probe("PUT", "/v1/dashboard/session")).toEqual(wrong("PUT", "/v1/dashboard/session", "GET or HEAD"));
    expect((await fetch(`${b.url}/health/ready`, { method: "HEAD" })).status).toBe(200); // as Allow says
    // A path no method serves: no Allow. (A one-segment GET is the dashboard's file route.)
    const none = { status: 404, allow: null, body: { error: { code: "not_found", message: "No such route.", retryable: false } } };
    expect(await probe("GET", "/v1/nothing/here")).toEqual(none);
    expect(await probe("POST", "/v1/invites/claim")).toEqual(none);
    expect(await probe("GET", "/no-such-file.js")).toEqual(none);
  });
});

describe("mesh creation", () => {
  test("must be signed by the owner key it names; a taken slug is a conflict", async () => {
    await using b = await startBroker();
    const owner = generateSigningKeypair();
    const other = generateSigningKeypair();
    const body = { meshId: "mesh-id-0001", slug: "team", name: "Team", ownerPubkey: owner.publicKey, ownerDisplayName: "o" };
    await expect(signedPost(b.url, "/v1/meshes", body, other)).rejects.toMatchObject({ code: "unauthorized" });
    const unsigned = await fetch(`${b.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect({ status: unsigned.status, code: (await unsigned.json()).error.code }).toEqual({ status: 401, code: "unauthorized" });
    await createMesh(b.url, owner, { meshId: "mesh-id-0001", slug: "team", name: "Team", ownerDisplayName: "o" });
    await expect(createMesh(b.url, other, { meshId: "mesh-id-0002", slug: "team", name: "Team", ownerDisplayName: "o" })).rejects.toMatchObject({ code: "conflict" });
    const bad = await fetch(`${b.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect({ status: bad.status, code: (await bad.json()).error.code }).toEqual({ status: 400, code: "invalid_json" });
  });
});

describe("mesh creation throttle", () => {
  test("one address creates a burst of meshes, then is told to wait (429, nothing stored); behind a trusted proxy each client counts apart", async () => {
    await using b = await startBroker({ trustedProxies: ["127.0.0.1", "::1", "::ffff:127.0.0.1"] });
    const post = (i: number, forwardedFor: string) => {
      const owner = generateSigningKeypair();
      const text = JSON.stringify({ meshId: `mesh-burst-${i}`, slug: `burst-${i}`, name: "Burst", ownerPubkey: owner.publicKey, ownerDisplayName: "o" });
      const ts = Date.now();
      const signature = signDetached(requestCanonical("POST", "/v1/meshes", ts, sha256Hex(text)), owner.secretKey);
      const headers = { "content-type": "application/json", "x-forwarded-for": forwardedFor, "x-claudemesh-pubkey": owner.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature };
      return fetch(`${b.url}/v1/meshes`, { method: "POST", headers, body: text });
    };
    for (let i = 0; i < MESH_CREATE_BURST; i++) expect((await post(i, "198.51.100.7")).status).toBe(201);
    const refused = await post(100, "198.51.100.7");
    expect({ status: refused.status, code: (await refused.json()).error.code, retryAfter: refused.headers.get("retry-after") }).toEqual({ status: 429, code: "rate_limited", retryAfter: expect.stringMatching(/^([1-9]|[1-5]\d|60)$/) });
    expect(await b.ctx.store.getMesh("mesh-burst-100")).toBeNull();
    // Another address of the same IPv6 /64 shares the allowance; another client does not.
    for (let i = 0; i < MESH_CREATE_BURST; i++) expect((await post(200 + i, `2001:db8:5:6::${i + 1}`)).status).toBe(201);
    expect((await post(300, "2001:db8:5:6:ffff::1")).status).toBe(429);
    expect((await post(301, "198.51.100.8")).status).toBe(201);
  });

  test("runs after the body checks and before the signature check: malformed bodies cost nothing, unsigned ones count as attempts", async () => {
    await using b = await startBroker();
    const unsigned = (i: number) =>
      fetch(`${b.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ meshId: `mesh-unsigned-${i}`, slug: `unsigned-${i}`, name: "U", ownerPubkey: generateSigningKeypair().publicKey, ownerDisplayName: "o" }) });
    const statuses = async (n: number, req: (i: number) => Promise<Response>) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await req(i)).status);
      return out;
    };
    const empty = () => fetch(`${b.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await statuses(MESH_CREATE_BURST + 5, empty)).toEqual(Array(MESH_CREATE_BURST + 5).fill(400));
    expect(await statuses(MESH_CREATE_BURST, unsigned)).toEqual(Array(MESH_CREATE_BURST).fill(401));
    const refused = await unsigned(99);
    expect({ status: refused.status, error: (await refused.json()).error }).toEqual({
      status: 429,
      error: { code: "rate_limited", message: "Too many attempts to create a mesh from this address; wait a minute and try again.", retryable: true },
    });
  });

  test("a request naming an existing mesh and its (public) owner key, signed by another key, counts as an attempt", async () => {
    await using b = await startBroker();
    const owner = generateSigningKeypair();
    const mesh = await createMesh(b.url, owner, { meshId: "mesh-id-0042", slug: "taken", name: "T", ownerDisplayName: "o" }); // the first attempt
    const forger = generateSigningKeypair();
    const forged = (i: number) => {
      const text = JSON.stringify({ meshId: mesh.mesh.id, slug: `other-${i}`, name: "x", ownerPubkey: owner.publicKey, ownerDisplayName: "x" });
      const ts = Date.now();
      const signature = signDetached(requestCanonical("POST", "/v1/meshes", ts, sha256Hex(text)), forger.secretKey);
      return fetch(`${b.url}/v1/meshes`, { method: "POST", headers: { "content-type": "application/json", "x-claudemesh-pubkey": forger.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature }, body: text });
    };
    const statuses: number[] = [];
    for (let i = 0; i < MESH_CREATE_BURST; i++) statuses.push((await forged(i)).status);
    expect(statuses).toEqual([...Array(MESH_CREATE_BURST - 1).fill(401), 429]);
  });
});

// Signed requests and invite claims pass the hello's skew window and replay rule (src/broker/auth.ts).
describe("skew window and replay rule", () => {
  const answer = async (r: Response) => ({ status: r.status, code: r.ok ? null : (await r.json()).error.code });

  test("a signed request outside ±60 s is refused; a captured one cannot be replayed", async () => {
    await using b = await startBroker();
    const owner = generateSigningKeypair();
    const body = JSON.stringify({ meshId: "mesh-id-0003", slug: "replay", name: "R", ownerPubkey: owner.publicKey, ownerDisplayName: "o" });
    const post = (ts: number) => {
      const headers = {
        "content-type": "application/json",
        "x-claudemesh-pubkey": owner.publicKey,
        "x-claudemesh-timestamp": String(ts),
        "x-claudemesh-signature": signDetached(requestCanonical("POST", "/v1/meshes", ts, sha256Hex(body)), owner.secretKey),
      };
      return fetch(`${b.url}/v1/meshes`, { method: "POST", headers, body });
    };
    const ts = Date.now();
    const answers = [await post(ts - 61_000), await post(ts + 61_000), await post(ts), await post(ts)];
    expect(await Promise.all(answers.map(answer))).toEqual([
      { status: 401, code: "timestamp_skew" },
      { status: 401, code: "timestamp_skew" },
      { status: 201, code: null },
      { status: 401, code: "replayed" },
    ]);
  });

  test("an invite claim outside ±60 s is refused; a captured one cannot be replayed", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 3 });
    const joiner = generateSigningKeypair();
    const claim = (ts: number) => {
      const canonical = inviteClaimCanonical(inv.inviteId, joiner.publicKey, ts);
      const body = { meshId: inv.meshId, pubkey: joiner.publicKey, displayName: "j", timestamp: ts, inviteSignature: signDetached(canonical, inv.inviteKeys.secretKey), signature: signDetached(canonical, joiner.secretKey) };
      return fetch(`${b.url}/v1/invites/${inv.inviteId}/claim`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    };
    const ts = Date.now();
    const answers = [await claim(ts - 61_000), await claim(ts), await claim(ts)];
    expect(await Promise.all(answers.map(answer))).toEqual([
      { status: 401, code: "timestamp_skew" },
      { status: 201, code: null },
      { status: 401, code: "replayed" },
    ]);
  });
});

describe("the response examples of protocol.md", () => {
  const doc = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
  const examples = new Map(fencedBlocks(doc).filter((x) => x.info.startsWith("json http-response ")).map((x) => [x.info.slice("json http-response ".length), JSON.parse(x.body)]));
  /** Keys and value types, recursively; a list by its first item. */
  const shape = (x: unknown): unknown =>
    Array.isArray(x) ? x.slice(0, 1).map(shape) : x !== null && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, shape((x as Record<string, unknown>)[k])])) : x === null ? "null" : typeof x;

  test("have the shape of the broker's answers", async () => {
    await using b = await startBroker();
    const answers = new Map<string, unknown>();
    const record = async (method: string, path: string, res: Response) => answers.set(`${method} ${path} ${res.status}`, await res.json());
    const owner = generateSigningKeypair();
    const text = JSON.stringify({ meshId: "mesh-shape-0001", slug: "shape", name: "Shape", ownerPubkey: owner.publicKey, ownerDisplayName: "alice" });
    const ts = Date.now();
    const signature = signDetached(requestCanonical("POST", "/v1/meshes", ts, sha256Hex(text)), owner.secretKey);
    const headers = { "content-type": "application/json", "x-claudemesh-pubkey": owner.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature };
    const created = await fetch(`${b.url}/v1/meshes`, { method: "POST", headers, body: text });
    await record("POST", "/v1/meshes", created);
    const alice = { meshId: "mesh-shape-0001", memberId: (answers.get("POST /v1/meshes 201") as any).member.memberId, keys: owner, displayName: "alice", role: "owner" };
    const inv = await createInvite(b.url, alice);
    const joiner = generateSigningKeypair();
    const claimedAt = Date.now();
    const canonical = inviteClaimCanonical(inv.inviteId, joiner.publicKey, claimedAt);
    const claim = { meshId: alice.meshId, pubkey: joiner.publicKey, displayName: "bob", timestamp: claimedAt, inviteSignature: signDetached(canonical, inv.inviteKeys.secretKey), signature: signDetached(canonical, joiner.secretKey) };
    await record("POST", "/v1/invites/{inviteId}/claim", await fetch(`${b.url}/v1/invites/${inv.inviteId}/claim`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(claim) }));
    const a = await connect(b.url, alice);
    await record("POST", "/hook/set-status", await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${a.ack.hookToken}`, "content-type": "application/json" }, body: JSON.stringify({ status: "working", summary: "running the test suite" }) }));
    a.close();
    await record("GET", "/health", await fetch(`${b.url}/health`));
    await record("GET", "/health/ready", await fetch(`${b.url}/health/ready`));
    b.ctx.draining = true; // as during a shutdown, for the one answer; nothing else runs meanwhile
    await record("GET", "/health/ready", await fetch(`${b.url}/health/ready`));
    b.ctx.draining = false;
    const login = dashboardLink({ brokerUrl: b.url, meshId: alice.meshId, memberId: alice.memberId, secretKey: owner.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;
    await record("POST", "/v1/dashboard/login", await fetch(`${b.url}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(login) }));
    expect([...answers.keys()].sort()).toEqual([...examples.keys()].sort());
    for (const [route, answer] of answers) expect({ route, shape: shape(examples.get(route)) }).toEqual({ route, shape: shape(answer) });
  });
});
