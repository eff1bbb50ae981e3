// A URL as an error, a warning or a log may show it, for the broker's settings (config) and the
// client's broker URLs alike: these lines reach the journal, terminals and, through the MCP
// server, the model.

/** `raw` (a URL as given, valid or not) as it may be shown in an error, a warning or a log: a
 *  user name and password, a query and a fragment are replaced by `***`, since a token or a
 *  password may be there and these lines reach the journal. The rest is kept to say which URL.
 *  Everything after the scheme up to the last "@" goes, wherever it is: a password may hold "@",
 *  "/", "?" or "#" as written (the URL parser would cut it there), so where the user name and
 *  password end is not for this to guess. Whitespace before the scheme is kept as given. */
export function shownUrl(raw: string): string {
  return raw.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/)?[^]*@/i, "$1***@").replace(/([?#])[^]*$/, "$1***");
}
