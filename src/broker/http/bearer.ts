// The credential of an `Authorization: Bearer <token>` header, for the routes that take one (the
// status hook's token, the operator token). The scheme name is case-insensitive (RFC 9110 §11.1):
// `bearer x` from a hand-written curl is the same header.

/** The token, or null when the header is absent or names another scheme. */
export function bearerToken(request: Request): string | null {
  const m = /^bearer[ \t]+(.*)$/is.exec(request.headers.get("authorization") ?? "");
  return m ? m[1]!.trim() : null;
}
