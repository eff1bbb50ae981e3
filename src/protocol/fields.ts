// Field schemas shared by the frames and the HTTP bodies. Every string and array is bounded, and
// every identifier excludes `|` so that the canonical strings stay injective.
import { Type, type Static } from "@sinclair/typebox";
import * as L from "./limits.ts";
import * as N from "./names.ts";
import { CAPS, EVENT_NAMES, INVITE_ROLES, PRIORITIES, STATUSES } from "./choices.ts";

export const Hex32 = Type.String({ pattern: "^[0-9a-f]{64}$", description: "32-byte key, lowercase hex" });
export const Hex64 = Type.String({ pattern: "^[0-9a-f]{128}$", description: "64-byte ed25519 signature, lowercase hex" });
/** Ids chosen by clients or the broker: URL-safe, 8–64 characters. */
export const Id = Type.String({ pattern: "^[A-Za-z0-9_-]{8,64}$", description: "identifier (A-Z a-z 0-9 _ -)" });
export const RequestId = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })], {
  description: "request id, echoed in the reply",
});
// Names: a first character, then up to MAX_*_LEN - 1 more.
const SLUG = `[a-z0-9][a-z0-9-]{0,${L.MAX_SLUG_LEN - 1}}`;
const TOPIC = `[a-z0-9][a-z0-9_-]{0,${L.MAX_TOPIC_NAME_LEN - 1}}`;
const GROUP = `[a-z0-9][a-z0-9_/-]{0,${L.MAX_GROUP_NAME_LEN - 1}}`;
export const Slug = Type.String({ pattern: `^${SLUG}$`, description: "mesh slug" });
export const TopicName = Type.String({ pattern: `^${TOPIC}$`, description: "topic name without #" });
export const GroupName = Type.String({ pattern: `^${GROUP}$`, description: "group name without @" });
/** A routing target: a member or session key, `*`, `#topic` or `@group`. */
export const Target = Type.String({
  pattern: `^(\\*|#${TOPIC}|@${GROUP}|[0-9a-f]{64})$`,
  description: "member or session public key (64 hex), *, #topic or @group",
});
/** Names people and models read (rules and reasons in names.ts). `errorMessage` is what the
 *  broker says when one is refused, in place of the validator's "Expected string to match …". */
const name = (pattern: string, errorMessage: string, description: string) =>
  Type.String({ minLength: 1, maxLength: L.MAX_NAME_LEN, pattern, errorMessage, description });
/** A member's display name, chosen at `new` and `join`. */
export const DisplayName = name(N.DISPLAY_NAME_PATTERN, N.DISPLAY_NAME_RULE, "display name: visible text, no : or /, not *, not starting with # or @");
/** A session's name in its hello, `<display name>/<label>`. */
export const SessionName = name(N.SESSION_NAME_PATTERN, N.SESSION_NAME_RULE, "session name: <display name>/<label>, visible text");
export const MeshName = name(N.MESH_NAME_PATTERN, N.MESH_NAME_RULE, "mesh name: visible text");
/** A name as the broker reports one it stored (a mesh's in hello_ack): brokers before session 33
 *  took any name without C0 controls or DEL, and a mesh named so then ("Team ❤️") must stay
 *  reachable. Clients show such names escaped (quotedName), never trust them as visible text. */
export const StoredName = Type.String({ minLength: 1, maxLength: L.MAX_NAME_LEN, pattern: "^[^\\u0000-\\u001f\\u007f]+$", description: "a name as stored: no C0 controls or DEL" });
// By pattern: Type.Optional copies the schema, so a field's schema is not always the object above.
const NAMES: ReadonlyMap<string, string> = new Map([DisplayName, SessionName, MeshName].map((s) => [s.pattern!, s.errorMessage as string]));
/** The rule in words when a validator's error points at one of the names above (`schema`) and the
 *  value there is a string, else null (a number where a name goes is not a name): the broker
 *  answers a refused name with it (HTTP `invalid_name`, a hello `malformed`). */
export const nameRule = (error: { schema?: unknown; value?: unknown } | undefined): string | null =>
  typeof error?.value === "string" ? (NAMES.get((error.schema as { pattern?: unknown } | undefined)?.pattern as string) ?? null) : null;
export const Summary = Type.String({ maxLength: L.MAX_SUMMARY_LEN });
export const Description = Type.String({ maxLength: L.MAX_DESCRIPTION_LEN });
export const Reason = Type.String({ maxLength: L.MAX_REASON_LEN });
export const Cwd = Type.String({ maxLength: L.MAX_CWD_LEN });
export const Hostname = Type.String({ maxLength: L.MAX_HOSTNAME_LEN });
export const Pid = Type.Integer({ minimum: 0, maximum: 2 ** 31 });
/** Milliseconds since the epoch. */
export const TimestampMs = Type.Integer({ minimum: 0, maximum: 8.64e15 });
/** Standard base64 of the 24-byte nonce. */
export const Nonce = Type.String({ pattern: "^[A-Za-z0-9+/]{32}$", description: "24-byte nonce, base64" });
export const Ciphertext = Type.String({ minLength: 1, maxLength: L.MAX_CIPHERTEXT_B64_LEN, pattern: "^[A-Za-z0-9+/]+={0,2}$" });
/** An invite's sealed keys (§11.5). Never empty: an empty blob seals nothing, and claimers would be
 *  answered `""` where an invite without keys answers `null`. */
export const KeysBlob = Type.String({ minLength: 1, maxLength: L.MAX_KEYS_BLOB_B64_LEN, pattern: "^[A-Za-z0-9+/]+={0,2}$" });
/** One of a fixed list (choices.ts, where the CLI reads the same list). */
const literalUnion = <T extends string>(words: readonly T[]) => Type.Union(words.map((w) => Type.Literal(w)));
export const Priority = literalUnion(PRIORITIES);
export const Status = literalUnion(STATUSES);
export const Role = Type.Union([Type.Literal("owner"), Type.Literal("admin"), Type.Literal("member")]);
export const InviteRole = literalUnion(INVITE_ROLES);
/** Recipient-side capabilities a sender may hold (see docs/protocol.md, Grants). */
export const Cap = literalUnion(CAPS);
export const Caps = Type.Array(Cap, { maxItems: L.MAX_CAPS, uniqueItems: true });
/** An `event` push's name (§4.4.5). */
export const EventName = literalUnion(EVENT_NAMES);
/** The events a hello subscribes to (§4.3.1): names shaped like event names, not only those this
 *  version knows. A newer client may list an event a broker of the same protocol version does not
 *  send yet; refusing its hello for it would cost it the connection, ignoring the name costs it
 *  nothing (that broker never sends the event). Bounded like every array. */
export const EventSubscription = Type.Array(Type.String({ pattern: `^[a-z][a-z0-9_]{0,${L.MAX_EVENT_NAME_LEN - 1}}$`, description: "event name" }), {
  maxItems: L.MAX_SUBSCRIBED_EVENTS,
  description: "events this connection wants; absent: all",
});

export type Priority = Static<typeof Priority>;
export type Status = Static<typeof Status>;
export type Role = Static<typeof Role>;
export type Cap = Static<typeof Cap>;
