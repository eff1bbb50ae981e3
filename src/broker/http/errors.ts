// HTTP edge of the error catalog: MeshError → status + {error:{code,message,retryable}}.
import { MeshError } from "../../protocol/errors.ts";
import { nameRule } from "../../protocol/fields.ts";

/** The answer for `err`: its catalog status and the JSON body every HTTP error has, and
 *  `Retry-After` (whole seconds, rounded up, at least 1) when the error knows its wait. */
export function errorResponse(err: MeshError): Response {
  const headers = err.retryAfterMs === undefined ? undefined : { "retry-after": String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) };
  return Response.json({ error: err.toJSON() }, { status: err.spec.http, headers });
}

/** Maps Elysia's own error codes to ours, so every HTTP error has the same shape. */
export function fromElysia(code: string | number, error: unknown): MeshError {
  if (error instanceof MeshError) return error;
  // Elysia wraps what our body parser threw (invalid_json, too_deep) in its ParseError.
  if (code === "PARSE" && error instanceof Error && error.cause instanceof MeshError) return error.cause;
  switch (code) {
    case "VALIDATION": {
      // A refused name says its rule, with a code of its own that clients turn into "choose another".
      const first = (error as { all?: { path?: string; schema?: unknown; value?: unknown }[] }).all?.[0];
      const rule = nameRule(first);
      if (rule !== null) return new MeshError("invalid_name", `Invalid request: ${first?.path || "/"}: ${rule}.`);
      return new MeshError("invalid_argument", `Invalid request: ${summarizeValidation(error)}`);
    }
    case "PARSE":
      return new MeshError("invalid_json", "The request body is not valid JSON.");
    case "NOT_FOUND":
      return new MeshError("not_found", "No such route.");
    default:
      return new MeshError("internal", undefined, { cause: error });
  }
}

function summarizeValidation(error: unknown): string {
  const e = error as { all?: { path?: string; message?: string }[]; message?: string };
  const first = e.all?.[0];
  return first ? `${first.path || "/"}: ${first.message}` : "body does not match the schema";
}
