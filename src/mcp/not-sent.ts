// What a tool that sends says when it fails before its `send` request went out: while it looked
// up the recipient (list_peers, member_list) or checked its key. Those lookups are reads, which the
// client asks again by itself after a reconnect, so what reaches here is a lookup that timed out,
// or one that could not wait for the broker (the queue full, the connection closed for good). The
// message itself was never sent, and the model must retry rather than fear a duplicate. Only the
// `send` request can leave a message stored; its error is a SendError, with the client_message_id
// to retry with (tools.ts), and is passed through untouched.
import { MeshError } from "../protocol/errors.ts";
import { SendError } from "../client/send-error.ts";
import { MalformedAnswerError } from "../client/broker-trouble.ts";

/** `err` said again as "nothing was sent; try again" when it is a broker failure (`unavailable`,
 *  `timeout`, `internal`) of a step before the send, `what` naming that step ("looking up
 *  \"bob\""), or as "nothing was sent" and its own words when the broker's answer was malformed;
 *  `err` itself otherwise (a refusal, or the send's own SendError). */
export function notSent(err: unknown, what: string, slug: string): unknown {
  if (!(err instanceof MeshError) || err instanceof SendError) return err;
  // Not a broker out of reach: one that answered with junk, which trying again meets again.
  if (err instanceof MalformedAnswerError) return new MalformedAnswerError(err.code, `Nothing was sent: ${what} on mesh ${slug} failed. ${err.message}`, { cause: err });
  const why = err.code === "timeout" ? "the broker did not answer in time" : err.code === "internal" ? "the broker failed (internal error)" : err.code === "unavailable" ? "the broker could not be reached" : null;
  if (why === null) return err;
  return new MeshError(err.code, `Nothing was sent: ${what} on mesh ${slug} failed (${why}), before the message went out. Try again (the same call; it reconnects by itself).`, { cause: err });
}
