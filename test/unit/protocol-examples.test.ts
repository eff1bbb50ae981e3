// Pins the examples of docs/protocol.md to the real schemas: every ```json frame block decodes
// with the real codec, every frame type, event and request result has an example, result data
// has exactly the fields of src/protocol/results.ts and passes src/protocol/result-schemas.ts, and
// HTTP bodies match src/protocol/http-bodies.ts.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { decodeClientFrame, decodeServerFrame } from "../../src/protocol/codec.ts";
import { ClientFrames } from "../../src/protocol/frames.ts";
import { EventName, ServerFrames } from "../../src/protocol/server-frames.ts";
import { ERRORS, isErrorCode } from "../../src/protocol/errors.ts";
import * as Bodies from "../../src/protocol/http-bodies.ts";
import type { AuditEntry, GrantInfo, InviteClaims, InviteInfo, ListedMember, MemberInfo, PeerInfo, Results, TopicInfo, TopicMemberInfo } from "../../src/protocol/results.ts";
import type { ClaimResult, MeshRecord } from "../../src/client/http.ts";
import { resultFault } from "../../src/protocol/result-schemas.ts";
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { fencedBlocks } from "../helpers/markdown.ts";

const DOC = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");


const blocks = fencedBlocks(DOC);
const clientExamples = blocks.filter((b) => b.info === "json frame client");
const serverExamples = blocks.filter((b) => /^json frame server( result=[a-z_]+)?$/.test(b.info));
const resultExamples = serverExamples.filter((b) => b.info.includes(" result="));
const at = (b: { line: number }) => `docs/protocol.md:${b.line}`;

// Keys of each request's result data, checked against results.ts at compile time in both
// directions: `satisfies` refuses a key the type lacks; ResultKeysComplete refuses a missing one.
type KeysOf<T> = T extends unknown ? keyof T : never;
const RESULT_KEYS = {
  send: { keys: ["messageId", "duplicate", "createdAt", "topicOffset", "undeliverable"], optional: ["topicOffset"] },
  ack: { keys: ["acked"] },
  fetch: { keys: ["messages", "remaining"] },
  list_peers: { keys: ["peers"] },
  peer_lookup: { keys: ["peers", "complete", "nameRule"] },
  set_status: { keys: ["status", "released"] },
  set_summary: { keys: ["summary"] },
  attest: { keys: ["expiresAt"] },
  session_end: { keys: ["ended"] },
  topic_create: { keys: ["topic"] },
  topic_list: { keys: ["topics"] },
  topic_join: { keys: ["topic", "joined"] },
  topic_leave: { keys: ["topic", "left"] },
  topic_members: { keys: ["topic", "members"] },
  topic_history: { keys: ["topic", "messages", "lastOffset", "earliestOffset", "historyLost"] },
  group_join: { keys: ["group"] },
  group_leave: { keys: ["group"] },
  grant_set: { keys: ["peer", "caps"] },
  grant_list: { keys: ["grants", "defaults"] },
  member_list: { keys: ["members"] },
  member_lookup: { keys: ["members", "claims"] },
  member_revoke: { keys: ["memberId", "banned", "disconnected", "invitesRevoked"] },
  leave: { keys: ["left"] },
  invite_create: { keys: ["invite"] },
  invite_list: { keys: ["invites", "next"] },
  invite_revoke: { keys: ["inviteId", "revoked"] },
  key_rotate: { keys: ["epoch"] },
  audit_log: { keys: ["entries"] },
  audit_verify: { keys: ["valid", "entries", "head", "brokenAt", "reason"] },
} as const satisfies { [T in keyof Results]: { keys: readonly KeysOf<Results[T]>[]; optional?: readonly KeysOf<Results[T]>[] } };
type MissingResultKeys = { [T in keyof Results]: Exclude<KeysOf<Results[T]>, (typeof RESULT_KEYS)[T]["keys"][number]> }[keyof Results];
const ResultKeysComplete: [MissingResultKeys] extends [never] ? true : false = true;

const RECORD_KEYS = {
  PeerInfo: ["pubkey", "kind", "memberId", "memberPubkey", "displayName", "online", "status", "summary", "cwd", "hostname", "connectedAt", "lastSeenAt", "groups", "attestation"],
  MemberInfo: ["memberId", "pubkey", "displayName", "role", "joinedAt", "revokedAt", "revokedReason", "revokedBy", "banned"],
  ListedMember: ["memberId", "pubkey", "displayName", "role", "joinedAt", "revokedAt", "revokedReason", "revokedBy", "banned", "admission"],
  TopicInfo: ["name", "description", "createdAt", "members", "lastOffset", "joined"],
  TopicMemberInfo: ["memberId", "displayName", "pubkey", "role"],
  InviteInfo: ["inviteId", "role", "maxUses", "usedCount", "expiresAt", "createdAt", "createdBy", "revokedAt"],
  GrantInfo: ["peer", "caps"],
  InviteClaims: ["inviteId", "claimed"],
  AuditEntry: ["seq", "meshId", "eventType", "actor", "payload", "createdAt", "prevHash", "hash"],
} as const satisfies {
  PeerInfo: readonly (keyof PeerInfo)[];
  MemberInfo: readonly (keyof MemberInfo)[];
  ListedMember: readonly (keyof ListedMember)[];
  TopicInfo: readonly (keyof TopicInfo)[];
  TopicMemberInfo: readonly (keyof TopicMemberInfo)[];
  InviteInfo: readonly (keyof InviteInfo)[];
  GrantInfo: readonly (keyof GrantInfo)[];
  InviteClaims: readonly (keyof InviteClaims)[];
  AuditEntry: readonly (keyof AuditEntry)[];
};
type RecordTypes = { PeerInfo: PeerInfo; MemberInfo: MemberInfo; ListedMember: ListedMember; TopicInfo: TopicInfo; TopicMemberInfo: TopicMemberInfo; InviteInfo: InviteInfo; GrantInfo: GrantInfo; InviteClaims: InviteClaims; AuditEntry: AuditEntry };
type MissingRecordKeys = { [R in keyof RecordTypes]: Exclude<keyof RecordTypes[R], (typeof RECORD_KEYS)[R][number]> }[keyof RecordTypes];
const RecordKeysComplete: [MissingRecordKeys] extends [never] ? true : false = true;

/** Where result data nests records or message frames: [request, field, record kind, is list]. */
const NESTED: [keyof Results, string, keyof RecordTypes | "message", boolean][] = [
  ["fetch", "messages", "message", true],
  ["topic_history", "messages", "message", true],
  ["list_peers", "peers", "PeerInfo", true],
  ["peer_lookup", "peers", "PeerInfo", true],
  ["member_list", "members", "ListedMember", true],
  ["member_lookup", "members", "ListedMember", true],
  ["member_lookup", "claims", "InviteClaims", true],
  ["topic_create", "topic", "TopicInfo", false],
  ["topic_list", "topics", "TopicInfo", true],
  ["topic_members", "members", "TopicMemberInfo", true],
  ["invite_create", "invite", "InviteInfo", false],
  ["invite_list", "invites", "InviteInfo", true],
  ["grant_list", "grants", "GrantInfo", true],
  ["audit_log", "entries", "AuditEntry", true],
];

test("the key lists are complete (compile-time checks hold)", () => {
  expect(ResultKeysComplete).toBe(true);
  expect(RecordKeysComplete).toBe(true);
});

describe("frame examples decode with the real codec", () => {
  test("there are examples", () => {
    expect(clientExamples.length).toBeGreaterThanOrEqual(Object.keys(ClientFrames).length);
    expect(serverExamples.length).toBeGreaterThanOrEqual(Object.keys(ServerFrames).length);
  });
  for (const b of clientExamples) {
    test(`client ${at(b)}`, () => {
      expect(() => decodeClientFrame(b.body)).not.toThrow();
    });
  }
  for (const b of serverExamples) {
    test(`server ${at(b)}`, () => {
      expect(() => decodeServerFrame(b.body)).not.toThrow();
    });
  }
  test("every frame block is one line of JSON text (copy-pasteable as a WebSocket frame)", () => {
    for (const b of [...clientExamples, ...serverExamples]) expect({ at: at(b), lines: b.body.split("\n").length }).toEqual({ at: at(b), lines: 1 });
  });
});

describe("coverage", () => {
  const typesOf = (bs: typeof blocks) => new Set(bs.map((b) => JSON.parse(b.body).type as string));

  test("every client frame type has an example", () => {
    const seen = typesOf(clientExamples);
    expect(Object.keys(ClientFrames).filter((t) => !seen.has(t))).toEqual([]);
  });

  test("every server frame type has an example", () => {
    const seen = typesOf(serverExamples);
    expect(Object.keys(ServerFrames).filter((t) => !seen.has(t))).toEqual([]);
  });

  test("every event has an example", () => {
    const names = EventName.anyOf.map((s) => s.const as string);
    const seen = new Set(serverExamples.map((b) => JSON.parse(b.body)).filter((f) => f.type === "event").map((f) => f.event));
    expect(names.filter((n) => !seen.has(n))).toEqual([]);
  });

  test("every request type has a result example, and nothing else claims to be one", () => {
    const requests = Object.keys(ClientFrames).filter((t) => t !== "hello" && t !== "session_hello");
    expect(requests.sort()).toEqual(Object.keys(RESULT_KEYS).sort());
    const seen = new Set(resultExamples.map((b) => /result=([a-z_]+)/.exec(b.info)![1]));
    expect(requests.filter((t) => !seen.has(t))).toEqual([]);
    expect([...seen].filter((t) => !requests.includes(t!))).toEqual([]);
  });

  // §1.5 and §11: a ciphertext is an end-to-end envelope, never plaintext in base64 (the seeds'
  // bug). test/unit/e2e-vectors.test.ts also opens each one.
  test("every ciphertext in an example is an envelope: version byte 0x01 (direct) or 0x02 (fan-out)", () => {
    const envelopes = (x: unknown): string[] =>
      typeof x !== "object" || x === null ? [] : [...(typeof (x as any).ciphertext === "string" ? [(x as any).ciphertext as string] : []), ...Object.values(x).flatMap(envelopes)];
    const examples = blocks.filter((b) => b.info.startsWith("json frame ") || b.info.startsWith("json http-body "));
    const found = examples.flatMap((b) => envelopes(JSON.parse(b.body)).map((ct) => ({ at: at(b), ct })));
    expect(found.length).toBeGreaterThan(0);
    for (const { at, ct } of found) {
      if (ct === "") continue; // a system notice, checked below
      const first = Buffer.from(ct, "base64")[0];
      expect({ at, version: first === 0x01 || first === 0x02 }).toEqual({ at, version: true });
    }
  });

  test("the system notice example is a message_expired notice", () => {
    const notices = serverExamples.map((b) => JSON.parse(b.body)).filter((f) => f.type === "message" && f.kind === "system");
    expect(notices.length).toBe(1);
    const n = notices[0];
    expect({ nonce: n.nonce, ciphertext: n.ciphertext, event: n.notice.event, replyTo: n.replyTo, cmid: n.clientMessageId }).toEqual({
      nonce: "",
      ciphertext: "",
      event: "message_expired",
      replyTo: n.notice.messageId,
      cmid: `expired-${n.notice.messageId}`,
    });
  });
});

describe("result data matches src/protocol/results.ts", () => {
  for (const b of resultExamples) {
    const type = /result=([a-z_]+)/.exec(b.info)![1] as keyof Results;
    test(`${type} ${at(b)}`, () => {
      const frame = JSON.parse(b.body);
      expect(frame.type).toBe("result");
      const spec: { keys: readonly string[]; optional?: readonly string[] } = RESULT_KEYS[type];
      const data = frame.data as Record<string, unknown>;
      // The schema a client checks every answer with (result-schemas.ts) takes the example.
      expect(resultFault(type, structuredClone(data))).toBeNull();
      const required = spec.keys.filter((k) => !spec.optional?.includes(k));
      expect({ unknown: Object.keys(data).filter((k) => !spec.keys.includes(k)), missing: required.filter((k) => !(k in data)) }).toEqual({ unknown: [], missing: [] });
      for (const [req, field, kind, list] of NESTED) {
        if (req !== type) continue;
        const items = (list ? data[field] : [data[field]]) as Record<string, unknown>[];
        expect(Array.isArray(items)).toBe(true);
        for (const item of items) {
          if (kind === "message") expect(() => decodeServerFrame(JSON.stringify(item))).not.toThrow();
          else expect(Object.keys(item).sort()).toEqual([...RECORD_KEYS[kind]].sort());
        }
      }
    });
  }
});

describe("HTTP examples", () => {
  const schemas = {
    CreateMeshBody: Bodies.CreateMeshBody,
    ClaimInviteBody: Bodies.ClaimInviteBody,
    HookStatusBody: Bodies.HookStatusBody,
    DashboardLoginBody: Bodies.DashboardLoginBody,
    DashboardInviteBody: Bodies.DashboardInviteBody,
    DashboardPostBody: Bodies.DashboardPostBody,
    OperatorLoginBody: Bodies.OperatorLoginBody,
  };
  const bodies = blocks.filter((b) => b.info.startsWith("json http-body "));

  test("every HTTP body schema has an example", () => {
    const seen = new Set(bodies.map((b) => b.info.split(" ")[2]));
    expect(Object.keys(schemas).filter((s) => !seen.has(s))).toEqual([]);
  });

  for (const b of bodies) {
    const name = b.info.split(" ")[2] as keyof typeof schemas;
    test(`${name} ${at(b)}`, () => {
      expect(Object.hasOwn(schemas, name)).toBe(true);
      const check = TypeCompiler.Compile(schemas[name]);
      const value = JSON.parse(b.body);
      expect([...check.Errors(value)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    });
  }

  test("error bodies have the shape {error:{code,message,retryable}} with catalog values", () => {
    const errs = blocks.filter((b) => b.info === "json http-error");
    expect(errs.length).toBeGreaterThan(0);
    for (const b of errs) {
      const { error, ...rest } = JSON.parse(b.body);
      expect(rest).toEqual({});
      expect(Object.keys(error).sort()).toEqual(["code", "message", "retryable"]);
      expect(isErrorCode(error.code)).toBe(true);
      expect(error.retryable).toBe(ERRORS[error.code as keyof typeof ERRORS].retryable);
    }
  });

  test("every error frame example uses a catalog code with its retryable flag", () => {
    for (const f of serverExamples.map((b) => JSON.parse(b.body)).filter((x) => x.type === "error")) {
      expect(isErrorCode(f.code)).toBe(true);
      expect(f.retryable).toBe(ERRORS[f.code as keyof typeof ERRORS].retryable);
    }
  });

  test("every json block is tagged, so that a test reads it", () => {
    expect(blocks.filter((b) => b.info === "json").map(at)).toEqual([]);
  });
});

// §1.3: `expiresAt` is seconds for invites and milliseconds everywhere else, and its name does not
// say which, so every table row that names it also names its unit.
test("every table row that names expiresAt names its unit", () => {
  const rows = DOC.split("\n").filter((l) => l.startsWith("|") && l.includes("expiresAt"));
  expect(rows.length).toBeGreaterThan(5);
  expect(rows.filter((l) => !/\b(ms|milliseconds|seconds)\b/.test(l))).toEqual([]);
});

// The answers of §6: their fields, and the records nested in them. test/integration/http.test.ts
// compares the same examples with a real broker's answers.
describe("HTTP response examples", () => {
  const MESH_KEYS = ["id", "slug", "name", "ownerPubkey", "keyEpoch", "createdAt"] as const satisfies readonly (keyof MeshRecord)[];
  const CLAIM_KEYS = ["mesh", "member", "keysBlob", "members"] as const satisfies readonly (keyof ClaimResult)[];
  const READY = { keys: ["status", "reason", "schemaVersion", "expectedVersion"], optional: ["error"] };
  type Shape = { keys: readonly string[]; optional?: readonly string[]; records?: Record<string, readonly string[]>; lists?: Record<string, readonly string[]> };
  const RESPONSES: Record<string, Shape> = {
    "POST /v1/meshes 201": { keys: ["mesh", "member"], records: { mesh: MESH_KEYS, member: RECORD_KEYS.MemberInfo } },
    "POST /v1/invites/{inviteId}/claim 201": { keys: CLAIM_KEYS, records: { mesh: MESH_KEYS, member: RECORD_KEYS.MemberInfo }, lists: { members: RECORD_KEYS.MemberInfo } },
    "POST /hook/set-status 200": { keys: ["ok", "status", "online"] },
    "GET /health 200": { keys: ["status", "version", "uptimeS", "db"] },
    "GET /health/ready 200": READY,
    "GET /health/ready 503": READY,
    "POST /v1/dashboard/login 200": { keys: ["member", "meshId", "expiresAt"], records: { member: RECORD_KEYS.MemberInfo } },
  };
  const responses = blocks.filter((b) => b.info.startsWith("json http-response ")).map((b) => ({ b, route: b.info.slice("json http-response ".length) }));

  test("every documented response has an example, and every example a known route", () => {
    expect(responses.map((r) => r.route).sort()).toEqual(Object.keys(RESPONSES).sort());
  });

  test("the answers new and join read pass the schemas the client checks them with (result-schemas.ts)", () => {
    const checked = { "POST /v1/meshes 201": "create_mesh", "POST /v1/invites/{inviteId}/claim 201": "invite_claim" } as const;
    const faults = responses.filter((r) => Object.hasOwn(checked, r.route)).map(({ b, route }) => [route, resultFault(checked[route as keyof typeof checked], JSON.parse(b.body))]);
    expect(faults).toEqual(Object.keys(checked).map((route) => [route, null]));
  });

  for (const { b, route } of responses) {
    test(`${route} ${at(b)}`, () => {
      const shape = RESPONSES[route]!;
      const body = JSON.parse(b.body) as Record<string, unknown>;
      const required = shape.keys.filter((k) => !shape.optional?.includes(k));
      expect({ unknown: Object.keys(body).filter((k) => !shape.keys.includes(k) && !shape.optional?.includes(k)), missing: required.filter((k) => !(k in body)) }).toEqual({ unknown: [], missing: [] });
      for (const [field, keys] of Object.entries(shape.records ?? {})) expect(Object.keys(body[field] as object).sort()).toEqual([...keys].sort());
      for (const [field, keys] of Object.entries(shape.lists ?? {})) for (const item of body[field] as object[]) expect(Object.keys(item).sort()).toEqual([...keys].sort());
    });
  }

  test("§6.6 readiness examples report the schema version of the latest migration", () => {
    for (const { b } of responses.filter((r) => r.route.startsWith("GET /health/ready "))) {
      const body = JSON.parse(b.body);
      expect({ at: at(b), schemaVersion: body.schemaVersion, expectedVersion: body.expectedVersion }).toEqual({ at: at(b), schemaVersion: LATEST_VERSION, expectedVersion: LATEST_VERSION });
    }
  });
});
