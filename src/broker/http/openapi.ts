// What the API reference (/docs/json) says of each route beyond its body schema: how it is
// authenticated, what it answers, and the query parameters it reads. Documentation only: Elysia
// checks none of it. Each route spreads `describe(...)` into its `detail`; the error answers come
// from the error catalog, so a status and its codes cannot disagree with what the route sends.
import type { DocumentDecoration } from "elysia";
import { ERRORS, type ErrorCode } from "../../protocol/errors.ts";
import { PAGE_KEY_HEADER, PAGE_KEY_PARAM } from "../../protocol/dashboard-keys.ts";
import { MEMBER_COOKIE, OPERATOR_COOKIE } from "../dashboard-sessions.ts";
import { SIGNED_HEADERS } from "./signed-request.ts";

/** The credentials a route may take (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  signingKey: { type: "apiKey", in: "header", name: SIGNED_HEADERS.pubkey, description: "The signing key, 64 lowercase hex (protocol.md §6.2)." },
  signedAt: { type: "apiKey", in: "header", name: SIGNED_HEADERS.timestamp, description: "Milliseconds since the epoch, within ±60 s of the broker's clock." },
  signature: { type: "apiKey", in: "header", name: SIGNED_HEADERS.signature, description: "128 lowercase hex: the key's signature over requestCanonical(method, path, timestamp, sha256hex(body)) (§3.6)." },
  hookToken: { type: "http", scheme: "bearer", description: "The hookToken of a session's hello_ack (§6.5)." },
  operatorToken: { type: "http", scheme: "bearer", description: "The broker's operator token (printed by the first `claudemesh serve`, or `claudemesh admin token`)." },
  memberSession: { type: "apiKey", in: "cookie", name: MEMBER_COOKIE, description: "Set by POST /v1/dashboard/login; counts only with its page key." },
  operatorSession: { type: "apiKey", in: "cookie", name: OPERATOR_COOKIE, description: "Set by POST /v1/dashboard/operator/login; counts only with its page key." },
  pageKey: { type: "apiKey", in: "header", name: PAGE_KEY_HEADER, description: "The page key the login answer gave, with the session cookie (§6.7)." },
  pageKeyQuery: { type: "apiKey", in: "query", name: PAGE_KEY_PARAM, description: "The page key, for the live view only (an EventSource sends no headers)." },
} as const;

type Scheme = keyof typeof SECURITY_SCHEMES;
const all = (...names: Scheme[]) => Object.fromEntries(names.map((n) => [n, []]));
const SIGNED = all("signingKey", "signedAt", "signature");

/** Who may call a route: any one of the listed sets (an empty list: anyone). */
export const AUTH = {
  none: [],
  signed: [SIGNED],
  hook: [all("hookToken"), SIGNED],
  member: [all("memberSession", "pageKey")],
  memberStream: [all("memberSession", "pageKey"), all("memberSession", "pageKeyQuery")],
  operator: [all("operatorSession", "pageKey"), all("operatorToken")],
} as const;

/** The body of every error answer (§6.1), as components.schemas.Error. */
export const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "retryable"],
      properties: {
        code: { type: "string", description: "One of the error catalog's codes (protocol.md §7)." },
        message: { type: "string", description: "What went wrong and what to do, for a person." },
        retryable: { type: "boolean", description: "Whether the same request may succeed later unchanged." },
      },
    },
  },
} as const;

/** Errors that any route with a JSON body may answer before it runs (§6.1). */
export const BODY_ERRORS: readonly ErrorCode[] = ["invalid_json", "invalid_argument", "too_deep", "frame_too_large"];
/** What the signed-request check answers (§6.2; `unavailable` for a signature from before a
 *  restore that could not keep the replay memory, §2.5). */
export const SIGNED_ERRORS: readonly ErrorCode[] = ["unauthorized", "malformed", "timestamp_skew", "bad_signature", "replayed", "unavailable"];
/** What a member's dashboard route answers whatever it does (§6.7). */
export const MEMBER_ERRORS: readonly ErrorCode[] = ["unauthorized", "page_key_required", "revoked", "rate_limited", "unavailable"];

type Answer = { description: string; content?: Record<string, { schema: unknown }> };

/** The responses object: `ok` as given (status → what it means), then each status the `errors`
 *  answer with (from the catalog), naming its codes, with the Error schema. */
function responses(ok: Record<number, string>, errors: readonly ErrorCode[]): Record<string, Answer> {
  const out: Record<string, Answer> = Object.fromEntries(Object.entries(ok).map(([status, description]) => [status, { description }]));
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...errors, "internal" as const])) byStatus.set(ERRORS[code].http, [...(byStatus.get(ERRORS[code].http) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = { description: codes.map((c) => `\`${c}\``).join(", "), content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  }
  return out;
}

type Parameter = { in: "path" | "query"; name: string; required: boolean; description: string; schema: Record<string, unknown> };

export const pathParam = (name: string, description: string): Parameter => ({ in: "path", name, required: true, description, schema: { type: "string" } });
export const queryParam = (name: string, description: string, schema: Record<string, unknown>): Parameter => ({ in: "query", name, required: false, description, schema });

/** A route's `detail` beyond summary and tags. `parameters` replaces what the plugin derives from
 *  the path, so a route that lists any lists its path parameters too. */
export function describe(o: { auth: keyof typeof AUTH; ok: Record<number, string>; errors: readonly ErrorCode[]; parameters?: Parameter[] }): Pick<DocumentDecoration, "security" | "responses" | "parameters"> {
  return { security: [...AUTH[o.auth]], responses: responses(o.ok, o.errors), ...(o.parameters ? { parameters: o.parameters } : {}) } as Pick<DocumentDecoration, "security" | "responses" | "parameters">;
}
