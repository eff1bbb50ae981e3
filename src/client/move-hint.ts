// A broker that moved (a new host, a TLS proxy in front, another port) looks, from its old URL,
// like a broker that is down: a refused connection, no broker there, a TLS handshake that fails.
// The fix is one command (`claudemesh set-broker`), which the CLI's error, `doctor` and the MCP
// server's tool answers name in those cases, and only in those: a broker that answered (busy, not
// ready, refusing a key) is where it was.
import { certificateItself, NotSentError, PlainToTlsPortError, UnusableUrlError } from "./broker-trouble.ts";
import { MeshError } from "../protocol/errors.ts";

/** Whether `err` says nothing usable answered at the broker's URL (broker-trouble.ts: nothing
 *  listens, no broker there, the TLS handshake failed or its certificate names another host, a
 *  plain-http request to a TLS port; not a certificate refused for what it is, whose own words
 *  say what to do) or nothing at all (no answer to a connect, a hello or a
 *  health check), the way a broker that moved away shows; false for a broker that answered (busy,
 *  not ready, a refusal), for a version mismatch, and for a URL that is no broker URL (saved-url.ts
 *  says that one). */
export const mayHaveMoved = (err: unknown): boolean =>
  err instanceof MeshError && (err.code === "timeout" || err instanceof PlainToTlsPortError || (err instanceof NotSentError && err.code === "unavailable" && !certificateItself(err) && !(err instanceof UnusableUrlError)));

/** The fix that moves a mesh to its broker's new URL. `meshOpt`: the ` --mesh …` the command needs
 *  (meshOption, "" with one mesh); `then`: what follows, when something does. */
export const movedFix = (meshOpt: string, then?: string): string =>
  `if the broker moved to a new address: claudemesh set-broker <new URL>${meshOpt} (it checks that the address serves this mesh before saving it)${then ? `; ${then}` : ""}`;
