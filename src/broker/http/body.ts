// Reading and parsing an HTTP request body within the broker's bound, so that a body too large gets
// an answer in the error catalog's shape (413 `frame_too_large`) instead of the HTTP server's empty 413.
import { MeshError } from "../../protocol/errors.ts";
import { assertJsonDepth, unpairedSurrogateAt } from "../../protocol/codec.ts";
import { MAX_HTTP_BODY_BYTES } from "../../protocol/limits.ts";

/** The requests whose body readBody stopped reading at the limit: `bodyUsed` says they were read,
 *  yet the rest of the body is still to come on the socket. A fact about each request, as
 *  `bodyUsed` is, that Request has no place for; weak, so it keeps no request past its answer. */
const cutShort = new WeakSet<Request>();

/** The body as text, refused with `frame_too_large` past MAX_HTTP_BODY_BYTES: by its Content-Length
 *  before any byte is read, or, sent in chunks without one, by counting while reading, the
 *  stream cancelled at the limit. At most MAX_HTTP_BODY_BYTES plus one chunk is ever held. */
export async function readBody(request: Request): Promise<string> {
  const tooBig = declaredTooLarge(request);
  if (tooBig) throw tooBig;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_HTTP_BODY_BYTES) {
      cutShort.add(request);
      void reader.cancel().catch(() => {});
      throw tooLarge(`it passed ${MAX_HTTP_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return decodeUtf8(Buffer.concat(chunks));
}

/** The body's bytes as text (a leading BOM dropped), refused with 400 `invalid_json` when they are
 *  not UTF-8. Decoding them with replacement characters, as Request.text() does, handed a signed
 *  route text other than what was signed: its client was told `bad_signature`, not what was wrong. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new MeshError("invalid_json", "The request body is not valid UTF-8: JSON text must be encoded as UTF-8.", { cause });
  }
}

/** A body's text parsed, or refused: nested past the frames' depth bound (400 too_deep: a deep
 *  body parses, then overflowed the stack in validation, a 500 anyone could repeat), not JSON (400
 *  invalid_json), or with a field named `toString` at any depth (400 invalid_argument naming its
 *  path). Elysia writes a string field that failed its schema into its error with `${value}`,
 *  which throws for an object whose own `toString` is no function (`{"meshId":{"toString":1}}`):
 *  the request became a 500 with a logged stack. No body of ours has such a field. */
export function parseBody(text: string): unknown {
  assertJsonDepth(text);
  // The found field's key, then each of its ancestors' keys, up to the whole body's (""): the
  // reviver runs on each value after its children, `this` being the object that holds it, so the
  // holder of what was found is met next as a value itself.
  const keys: string[] = [];
  let holder: unknown;
  let body: unknown;
  try {
    body = JSON.parse(text, function (this: unknown, key: string, value: unknown) {
      if (keys.length === 0 ? key === "toString" : value === holder) {
        keys.push(key);
        holder = this;
      }
      return value;
    });
  } catch (cause) {
    throw new MeshError("invalid_json", "The request body is not valid JSON.", { cause });
  }
  if (keys.length === 0) {
    const at = unpairedSurrogateAt(text, body);
    if (at !== null) throw new MeshError("invalid_argument", `Invalid request: ${at}: a string with an unpaired UTF-16 surrogate (a lone \\uD800–\\uDFFF escape) is not Unicode text.`);
    return body;
  }
  const path = keys.slice(0, -1).reverse().map((k) => `/${k}`).join("");
  throw new MeshError("invalid_argument", `Invalid request: ${path}: unexpected property`);
}

/** The refusal for a request whose Content-Length is over MAX_HTTP_BODY_BYTES, or null. */
function declaredTooLarge(request: Request): MeshError | null {
  const declared = Number(request.headers.get("content-length") ?? 0);
  return declared > MAX_HTTP_BODY_BYTES ? tooLarge(`Content-Length says ${declared} bytes`) : null;
}

/** The response, with `Connection: close` when the request sent a body that was not read to its
 *  end: nothing read it (no route, a route without a body, a refusal before parsing, a declared
 *  length over the limit), or readBody stopped at the limit. Without it Bun reads and discards
 *  the rest of that body for as long as the client keeps sending. */
export function closingIfUnread(request: Request, response: Response): Response {
  const sentBody = Number(request.headers.get("content-length") ?? 0) > 0 || request.headers.has("transfer-encoding");
  if (sentBody && (!request.bodyUsed || cutShort.has(request))) response.headers.set("connection", "close");
  return response;
}

function tooLarge(what: string): MeshError {
  return new MeshError("frame_too_large", `The request body is over the limit of ${MAX_HTTP_BODY_BYTES} bytes (1 MiB): ${what}. Send a smaller body.`);
}
