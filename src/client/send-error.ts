// The error of a `send` request, naming the clientMessageId it carried.
import { MeshError } from "../protocol/errors.ts";

/** A `send` that failed. After `timeout`, `unavailable` or `internal` the broker may have
 *  committed it (the reply was lost, docs/protocol.md §5.4): the caller retries with the same
 *  `clientMessageId` (MeshSession.send's option), which the broker answers with the original's
 *  result and `duplicate: true` instead of storing a second copy (§5.3). A new id would make the
 *  recipient see the message twice. Retrying the same message with its id is always safe. */
export class SendError extends MeshError {
  constructor(
    err: MeshError,
    readonly clientMessageId: string,
  ) {
    super(err.code, err.message, err.cause === undefined ? undefined : { cause: err.cause });
  }
}

/** Whether a failed send may nonetheless have been stored (its answer was lost): the caller should
 *  retry it with `err.clientMessageId`. */
export function mayHaveBeenStored(err: unknown): err is SendError {
  return err instanceof SendError && (err.code === "timeout" || err.code === "unavailable" || err.code === "internal");
}
