// Query parameters as routes read them: one value each. Elysia's `query` keeps the last value of
// a repeated parameter, URLSearchParams.get the first; which one a client meant is not for the
// broker to guess, so a parameter a route reads may be given once (docs/protocol.md §6.1).
import { MeshError } from "../../protocol/errors.ts";

/** The percent-decoded value of query parameter `name`, or undefined when the request has none.
 *  Throws invalid_argument when it is given more than once, under any spelling that decodes to
 *  `name` (`after`, `aft%65r`). */
export function queryParam(request: Request, name: string): string | undefined {
  const values = new URL(request.url).searchParams.getAll(name);
  if (values.length > 1) throw new MeshError("invalid_argument", `The query parameter ${name} is given ${values.length} times; give it once.`);
  return values[0];
}
