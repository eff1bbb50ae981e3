// The schema of each request's `result` data (docs/protocol.md §4.3; the types are results.ts's),
// and the check a client runs on every answer before anything reads it. The codec checks a
// `result` frame only as far as `{type, id, data}` (data is any JSON): a broker is a relay the
// client does not trust (DESIGN.md §3), and an answer with `peers: null`, a row that is not an
// object or a key that is not 64 hex digits crashed the command that read it ("null is not an
// object", exit 1) or reached the code that encrypts to keys. Every string and list is bounded as
// the frames bound them. Unknown fields are allowed (§1.2: a newer broker may add some). The two
// HTTP answers that enrol a key (§6.3–6.4) are checked the same way (http.ts).
import { Type, type Static, type TObject, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import * as F from "./fields.ts";
import * as L from "./limits.ts";
import { Attestation } from "./frames.ts";
import type { Results } from "./results.ts";
import { MessagePush } from "./server-frames.ts";

/** A field brokers added within protocol version 1 (§1.2), which an older broker's answer lacks:
 *  required in the strict schemas, and in the lenient ones absent means `absent` (what results.ts
 *  documents for "from before brokers kept it"). */
type Later = <S extends TSchema>(schema: S, absent: Static<S>) => S;

const nullable = <S extends TSchema>(s: S) => Type.Union([s, Type.Null()], { description: `${s.description ?? "a value"}, or null` });
const count = Type.Integer({ minimum: 0, description: "a whole number, 0 or more" });
const seconds = Type.Integer({ minimum: 0, maximum: 8.64e12, description: "seconds since the epoch" });
const time = Type.Integer({ minimum: 0, maximum: 8.64e15, description: "ms since the epoch" });
/** A name as the broker stored it (an older broker took names the rules refuse now): shown
 *  escaped, never trusted as visible text, so only its length is checked. */
const storedName = Type.String({ maxLength: L.MAX_NAME_LEN, description: `a name of at most ${L.MAX_NAME_LEN} characters` });
/** A peer's name as list_peers shows it: a session the broker named from its cwd has a longer one. */
const shownName = Type.String({ maxLength: L.MAX_SHOWN_NAME_LEN, description: `a name of at most ${L.MAX_SHOWN_NAME_LEN} characters` });
/** Audit entries are checked by hashing them (§9), so only their types and sizes are checked here. */
const auditText = Type.String({ maxLength: 1024, description: "text of at most 1024 characters" });
const list = <S extends TSchema>(item: S, maxItems?: number) => Type.Array(item, maxItems === undefined ? {} : { maxItems });
const inviteRole = Type.Union([Type.Literal("admin"), Type.Literal("member")], { description: "admin or member" });
const uses = Type.Integer({ minimum: 1, maximum: L.MAX_INVITE_USES, description: `a use limit of 1 to ${L.MAX_INVITE_USES}` });
/** An attestation as the broker shows it, with the fields a sender checks (§3.2). */
const ShownAttestation = Type.Object(Attestation.properties, { description: "an attestation" });

function build(later: Later) {
  const Peer = Type.Object({
    pubkey: F.Hex32,
    kind: Type.Union([Type.Literal("member"), Type.Literal("session")], { description: "member or session" }),
    memberId: F.Id,
    memberPubkey: F.Hex32,
    displayName: shownName,
    online: Type.Boolean(),
    status: F.Status,
    summary: F.Summary,
    cwd: F.Cwd,
    hostname: F.Hostname,
    connectedAt: nullable(time),
    lastSeenAt: nullable(time),
    groups: list(F.GroupName),
    attestation: later(nullable(ShownAttestation), null),
  });
  const Admission = Type.Object({
    inviteId: F.Id,
    role: inviteRole,
    maxUses: uses,
    expiresAt: seconds,
    issuerPubkey: F.Hex32,
    inviteSignature: F.Hex64,
    invitePubkey: F.Hex32,
    keySignature: nullable(F.Hex64),
    claimedAt: time,
    claimSignature: F.Hex64,
  }, { description: "an admission record" });
  const memberInfo = {
    memberId: F.Id,
    pubkey: F.Hex32,
    displayName: storedName,
    role: F.Role,
    joinedAt: time,
    revokedAt: nullable(time),
    revokedReason: nullable(F.Reason),
    revokedBy: later(nullable(F.Id), null),
    banned: Type.Boolean(),
  };
  const Member = Type.Object({ ...memberInfo, admission: later(nullable(Admission), null) });
  const Topic = Type.Object({ name: F.TopicName, description: F.Description, createdAt: time, members: count, lastOffset: count, joined: Type.Boolean() });
  const Invite = Type.Object({ inviteId: F.Id, role: inviteRole, maxUses: uses, usedCount: count, expiresAt: seconds, createdAt: time, createdBy: F.Id, revokedAt: nullable(time) });
  const Entry = Type.Object({ seq: count, meshId: auditText, eventType: auditText, actor: nullable(auditText), payload: Type.Unknown(), createdAt: auditText, prevHash: auditText, hash: auditText });
  const Messages = list(MessagePush, L.MAX_PAGE);
  const MemberInfo = Type.Object(memberInfo);
  const Mesh = Type.Object({ id: F.Id, slug: F.Slug, name: F.StoredName, ownerPubkey: F.Hex32, keyEpoch: count, createdAt: time });
  /** The answers of the HTTP routes that enrol a key (§6.3–6.4), which `new` and `join` read. */
  const http = {
    create_mesh: Type.Object({ mesh: Mesh, member: MemberInfo }),
    invite_claim: Type.Object({ mesh: Mesh, member: MemberInfo, keysBlob: nullable(F.KeysBlob), members: list(MemberInfo) }),
  };
  const results = {
    send: Type.Object({
      messageId: F.Id,
      duplicate: Type.Boolean(),
      createdAt: time,
      topicOffset: Type.Optional(Type.Integer({ minimum: 1 })),
      undeliverable: later(list(Type.Object({ to: F.Hex32, code: Type.String({ maxLength: 64 }) })), []),
    }),
    ack: Type.Object({ acked: count }),
    fetch: Type.Object({ messages: Messages, remaining: count }),
    list_peers: Type.Object({ peers: list(Peer) }),
    peer_lookup: Type.Object({ peers: list(Peer, L.MAX_LOOKUP_PEERS), complete: Type.Boolean(), nameRule: count }),
    set_status: Type.Object({ status: F.Status, released: count }),
    set_summary: Type.Object({ summary: F.Summary }),
    attest: Type.Object({ expiresAt: time }),
    session_end: Type.Object({ ended: Type.Literal(true) }),
    topic_create: Type.Object({ topic: Topic }),
    topic_list: Type.Object({ topics: list(Topic) }),
    topic_join: Type.Object({ topic: F.TopicName, joined: Type.Boolean() }),
    topic_leave: Type.Object({ topic: F.TopicName, left: Type.Boolean() }),
    topic_members: Type.Object({
      topic: F.TopicName,
      members: list(Type.Object({ memberId: F.Id, displayName: storedName, pubkey: F.Hex32, role: Type.Union([Type.Literal("lead"), Type.Literal("member")], { description: "lead or member" }) })),
    }),
    topic_history: Type.Object({ topic: F.TopicName, messages: Messages, lastOffset: count, earliestOffset: count, historyLost: Type.Boolean() }),
    group_join: Type.Object({ group: F.GroupName }),
    group_leave: Type.Object({ group: F.GroupName }),
    grant_set: Type.Object({ peer: F.Hex32, caps: nullable(F.Caps) }),
    grant_list: Type.Object({ grants: list(Type.Object({ peer: F.Hex32, caps: F.Caps })), defaults: F.Caps }),
    member_list: Type.Object({ members: list(Member) }),
    member_lookup: Type.Object({ members: list(Member, L.MAX_LOOKUP_MEMBERS), claims: list(Type.Object({ inviteId: F.Id, claimed: count })) }),
    member_revoke: Type.Object({ memberId: F.Id, banned: Type.Boolean(), disconnected: count, invitesRevoked: later(list(F.Id), []) }),
    leave: Type.Object({ left: Type.Literal(true) }),
    invite_create: Type.Object({ invite: Invite }),
    // Not bounded by MAX_PAGE: a broker from before pages lists every invite in one answer.
    invite_list: Type.Object({ invites: list(Invite), next: later(nullable(F.Id), null) }),
    invite_revoke: Type.Object({ inviteId: F.Id, revoked: Type.Boolean() }),
    key_rotate: Type.Object({ epoch: Type.Integer({ minimum: 1, maximum: L.MAX_KEY_EPOCH }) }),
    audit_log: Type.Object({ entries: list(Entry, L.MAX_PAGE) }),
    audit_verify: Type.Object({ valid: Type.Boolean(), entries: count, head: auditText, brokenAt: nullable(count), reason: nullable(auditText) }),
  } satisfies { [T in keyof Results]: TObject };
  return { ...results, ...http };
}

/** The answers as a broker of this version gives them: every field present. */
export const ResultSchemas = build((s) => s);
/** The same, taking an older broker's answer without the fields added since (Later). */
const LENIENT = build((s, absent) => Type.Optional({ ...s, default: absent }) as unknown as typeof s);
/** The HTTP answers checked as results are (http.ts). */
export type HttpAnswer = "create_mesh" | "invite_claim";
/** What the schema of `K` admits. */
export type AnswerOf<K extends keyof typeof ResultSchemas> = Static<(typeof ResultSchemas)[K]>;
/** Whether A and B are the same type (the checks below, and http.ts's of its answers). */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type ResultType = keyof Results;
// What a strict schema admits is what results.ts promises, and the other way round (a readonly
// list read as a list); the one exception is topic_history, whose type ties `historyLost: true` to
// no messages.
type Writable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer I)[] ? I[] : T[K] };
type Agrees<T extends ResultType> = T extends "topic_history" ? (Results[T] extends Static<(typeof ResultSchemas)[T]> ? true : false) : Same<Static<(typeof ResultSchemas)[T]>, Writable<Results[T]>>;
const agrees: { [T in ResultType]: Agrees<T> } = {
  send: true, ack: true, fetch: true, list_peers: true, peer_lookup: true, set_status: true, set_summary: true, attest: true, session_end: true,
  topic_create: true, topic_list: true, topic_join: true, topic_leave: true, topic_members: true, topic_history: true, group_join: true, group_leave: true,
  grant_set: true, grant_list: true, member_list: true, member_lookup: true, member_revoke: true, leave: true, invite_create: true, invite_list: true,
  invite_revoke: true, key_rotate: true, audit_log: true, audit_verify: true,
};
void agrees;

/** Compiled when first needed: all of them at once cost a command ~20 ms at its start, and a
 *  command asks a few requests. */
const compiled = new Map<string, TypeCheck<TObject>>();
const checker = (schemas: Record<string, TObject>, type: string, key: string): TypeCheck<TObject> => {
  let c = compiled.get(key);
  if (!c) compiled.set(key, (c = TypeCompiler.Compile(schemas[type]!)));
  return c;
};

/** What a value is, in a few words, never its content (a hostile broker's text is not echoed). */
function found(v: unknown): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${n(v.length, "item")}`;
  if (typeof v === "string") return `a string of ${n(v.length, "character")}`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v === "object" ? "an object" : String(typeof v);
}

/** What goes where a validator error points, for schemas without a description. */
function wanted(e: ValueError): string {
  const s = e.schema as { maxLength?: number; maxItems?: number; const?: unknown; anyOf?: { const?: unknown }[] };
  switch (e.type) {
    case ValueErrorType.Union: return s.anyOf?.every((v) => typeof v.const === "string") ? `one of ${s.anyOf.map((v) => v.const).join(", ")}` : "another value";
    case ValueErrorType.ArrayUniqueItems: return "a list without repeats";
    case ValueErrorType.Array: return "a list";
    case ValueErrorType.ArrayMaxItems: return `a list of at most ${s.maxItems} items`;
    case ValueErrorType.Object: return "an object";
    case ValueErrorType.String: return "a string";
    case ValueErrorType.StringMaxLength: return `a string of at most ${s.maxLength} characters`;
    case ValueErrorType.Boolean: return "true or false";
    case ValueErrorType.Integer: return "a whole number";
    case ValueErrorType.Literal: return JSON.stringify(s.const);
    default: return e.message.replace(/^Expected /, "");
  }
}

/** One validator error in words: where (a JSON pointer into the answer), what goes there, and
 *  what came instead. */
function words(e: ValueError): string {
  // In a union (`x, or null`), the variant whose error lies deepest is the one the value meant to
  // be: "/peers/1/attestation/signature should be …" rather than "…/attestation should be …".
  if (e.type === ValueErrorType.Union) {
    const deepest = e.errors.map((i) => i.First()).filter((x) => x !== undefined).sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest && deepest.path.length > e.path.length) return words(deepest);
  }
  const where = e.path || "the answer";
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `${where} is missing`;
  const described = typeof e.schema.description === "string" && e.type !== ValueErrorType.StringMaxLength;
  return `${where} should be ${described ? e.schema.description : wanted(e)}, not ${found(e.value)}`;
}

/** Null when `data` is a well-formed answer to a `type` request (or HTTP call), else what is
 *  wrong with it, in words. An older broker's answer lacking fields added since (Later) is
 *  completed in place with what their absence means, so that past this check the answer has its
 *  results.ts type. */
export function resultFault(type: ResultType | HttpAnswer, data: unknown): string | null {
  if (checker(ResultSchemas, type, type).Check(data)) return null;
  const check = checker(LENIENT, type, `lenient ${type}`);
  // Filled in only when the strict check failed: it walks the whole answer (ms for 5,000 peers).
  if (typeof data === "object" && data !== null) Value.Default(check.Schema(), data);
  if (check.Check(data)) return null;
  return words(check.Errors(data).First()!);
}
