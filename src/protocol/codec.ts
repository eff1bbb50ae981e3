// The only code that turns raw WebSocket text into frames. Order of checks: byte size, nesting
// depth (a linear scan, before JSON.parse), JSON syntax, then the frame's schema. Each failure is
// a MeshError with a specific code; nothing past this point re-validates.
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { TObject } from "@sinclair/typebox";
import { MeshError } from "./errors.ts";
import { nameRule } from "./fields.ts";
import { ClientFrames, type ClientFrame } from "./frames.ts";
import { ServerFrames, type ServerFrame } from "./server-frames.ts";
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH } from "./limits.ts";

function compileAll<R extends Record<string, TObject>>(registry: R): Map<string, TypeCheck<TObject>> {
  return new Map(Object.entries(registry).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]));
}

const clientCheckers = compileAll(ClientFrames);
const serverCheckers = compileAll(ServerFrames);

/** UTF-8 byte length, computed only when the UTF-16 length could exceed the limit. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Deepest `{`/`[` nesting outside string literals; stops early once past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Whether `text` holds at most `limit` `{` and `[` characters in all (strings included), so
 *  that it cannot nest deeper than `limit`. Native indexOf makes this several times cheaper than
 *  jsonDepth's character loop, and it settles almost every real frame. */
function fewOpeners(text: string, limit: number): boolean {
  let n = 0;
  for (let i = text.indexOf("{"); i !== -1; i = text.indexOf("{", i + 1)) if (++n > limit) return false;
  for (let i = text.indexOf("["); i !== -1; i = text.indexOf("[", i + 1)) if (++n > limit) return false;
  return true;
}

/** Whether `text` nests deeper than MAX_JSON_DEPTH. */
const tooDeep = (text: string) => !fewOpeners(text, MAX_JSON_DEPTH) && jsonDepth(text) > MAX_JSON_DEPTH;

/** Throws MeshError too_deep when `text` nests deeper than MAX_JSON_DEPTH. For any JSON text from
 *  outside (frames, HTTP bodies) before it is parsed: recursive code downstream (schema checks,
 *  JSON.stringify of the value in an error) would overflow the stack on a deep document. */
export function assertJsonDepth(text: string): void {
  if (tooDeep(text)) throw new MeshError("too_deep", `JSON nests deeper than ${MAX_JSON_DEPTH} levels.`);
}

/** The error for a text of more than `maxBytes` UTF-8 bytes, or null. */
export function frameSizeError(text: string, maxBytes = MAX_FRAME_BYTES): MeshError | null {
  if (text.length > maxBytes || (text.length * 3 > maxBytes && byteLength(text) > maxBytes)) {
    return new MeshError("frame_too_large", `Frame is larger than ${maxBytes} bytes.`);
  }
  return null;
}

/** A `\uD800`–`\uDFFF` escape: the only way JSON text can carry an unpaired surrogate (UTF-8
 *  cannot encode one). Legitimate text rarely has one at all (an escaped astral character). */
const SURROGATE_ESCAPE = /\\u[dD][89abcdefABCDEF]/;

/** The JSON Pointer of the first string or key in `value` (parsed from `text`) that holds an
 *  unpaired UTF-16 surrogate, or null. JSON allows such a string, but it is no Unicode text: stored
 *  as UTF-8 it comes back as U+FFFD, so what was accepted is not what is read later (I-JSON,
 *  RFC 7493 §2.1, forbids it). The walk runs only when the text has such an escape. */
export function unpairedSurrogateAt(text: string, value: unknown): string | null {
  if (!SURROGATE_ESCAPE.test(text)) return null;
  const walk = (v: unknown, path: string): string | null => {
    if (typeof v === "string") return v.isWellFormed() ? null : path || "/";
    if (typeof v !== "object" || v === null) return null;
    for (const [k, child] of Object.entries(v)) {
      const at = `${path}/${k}`;
      if (!k.isWellFormed()) return at;
      const found = walk(child, at);
      if (found !== null) return found;
    }
    return null;
  };
  return walk(value, "");
}

/** Size, depth and syntax checks shared by both directions, and no unpaired surrogate in any
 *  string (invalid_frame naming where). Returns the parsed value. */
export function parseJsonBounded(text: string, maxBytes = MAX_FRAME_BYTES): unknown {
  const tooLarge = frameSizeError(text, maxBytes);
  if (tooLarge) throw tooLarge;
  assertJsonDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new MeshError("invalid_json", "Frame is not valid JSON.", { cause });
  }
  const at = unpairedSurrogateAt(text, value);
  if (at !== null) throw new MeshError("invalid_frame", `The frame's string at ${at} holds an unpaired UTF-16 surrogate (a lone \\uD800–\\uDFFF escape): it is not Unicode text.`);
  return value;
}

function checkFrame<T>(value: unknown, checkers: Map<string, TypeCheck<TObject>>): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MeshError("invalid_frame", "Frame must be a JSON object with a `type` field.");
  }
  const type = (value as { type?: unknown }).type;
  const checker = typeof type === "string" ? checkers.get(type) : undefined;
  if (type === undefined) throw new MeshError("unknown_type", "The frame has no `type` field.");
  if (!checker) throw new MeshError("unknown_type", `Unknown frame type ${JSON.stringify(type).slice(0, 64)}.`);
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const where = first?.path || "/";
    throw new MeshError("invalid_frame", `Invalid ${String(type)} frame at ${where}: ${nameRule(first) ?? first?.message ?? "schema mismatch"}.`);
  }
  return value as T;
}

/** Broker side: raw text from a client → a validated client frame, or a MeshError. */
export function decodeClientFrame(text: string, maxBytes = MAX_FRAME_BYTES): ClientFrame {
  return checkFrame<ClientFrame>(parseJsonBounded(text, maxBytes), clientCheckers);
}

/** Largest broker frame a client accepts: a full `fetch` or history page (500 messages of up to
 *  64 KiB each) plus envelopes. Bounded so a hostile broker cannot exhaust the client's memory. */
export const MAX_SERVER_FRAME_BYTES = 40 * 1024 * 1024;

/** Client side: raw text from the broker → a validated server frame, or a MeshError. */
export function decodeServerFrame(text: string, maxBytes = MAX_SERVER_FRAME_BYTES): ServerFrame {
  return checkFrame<ServerFrame>(parseJsonBounded(text, maxBytes), serverCheckers);
}

/** A frame that failed validation, parsed again to recover a field of it; undefined when it is
 *  over `maxBytes` UTF-8 bytes (the limit it was decoded with, measured as step 1 measures it),
 *  too deep, not JSON or not an object. */
function reparse(text: string, maxBytes: number): Record<string, unknown> | undefined {
  if (frameSizeError(text, maxBytes) || tooDeep(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The request id of a frame that failed validation, when one can be recovered, so that the
 *  error reply still reaches the right pending request. `maxBytes` is the limit the frame was
 *  decoded with (the broker's maxFrameBytes): any frame under it is parsed again for its id. */
export function recoverRequestId(text: string, maxBytes = MAX_FRAME_BYTES): string | number | undefined {
  const id = reparse(text, maxBytes)?.id;
  if (typeof id === "string" && id.length <= 64) return id;
  if (typeof id === "number" && Number.isSafeInteger(id)) return id;
  return undefined;
}

/** The `protocolVersion` of a hello or session_hello that failed validation, when it is an
 *  integer: a newer client's hello may carry fields this version does not know, and must still be
 *  told that the broker is older (unsupported_version), not that its frame is malformed. */
export function recoverHelloVersion(text: string, maxBytes = MAX_FRAME_BYTES): number | undefined {
  const frame = reparse(text, maxBytes);
  if (frame?.type !== "hello" && frame?.type !== "session_hello") return undefined;
  return Number.isInteger(frame.protocolVersion) ? (frame.protocolVersion as number) : undefined;
}
