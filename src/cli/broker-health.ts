// What `list` and `doctor` say of a broker's health: the sentences of src/client/broker-trouble.ts,
// which every other command uses for the same situations, from one short GET.
import { MeshError } from "../protocol/errors.ts";
import { BrokerUrlError } from "../client/broker-url.ts";
import { NotSentError } from "../client/broker-trouble.ts";
import type { Ctx } from "./context.ts";

/** The longest wait for the answer: `list` asks every broker, and one host that drops packets
 *  should not hold it for the 15 s a command's request gets. A shorter CLAUDEMESH_TIMEOUT wins. */
const PROBE_MS = 4_000;

/** Null when the broker at `url` answers `path` (/health: it runs; /health/ready: it can serve);
 *  else why not, as a sentence naming `url`: a URL that cannot be used, nothing there, no broker
 *  there, a broker busy, not ready or silent. Worded for a command that only reads: without the
 *  "nothing was sent" the same refusal says from `send` (NotSentError.readOnly). Throws only what
 *  is no broker's fault (a bad CLAUDEMESH_TIMEOUT, a bug). */
export async function brokerProblem(ctx: Ctx, url: string, path: "/health" | "/health/ready"): Promise<string | null> {
  const trouble = await brokerTrouble(ctx, url, path);
  return trouble && troubleText(trouble);
}

/** brokerProblem's error rather than its sentence (null when the broker answers), for a caller
 *  that tells the troubles apart (doctor: one that may mean the broker moved). */
export async function brokerTrouble(ctx: Ctx, url: string, path: "/health" | "/health/ready"): Promise<MeshError | BrokerUrlError | null> {
  const timeoutMs = Math.min(ctx.timeoutMs(), PROBE_MS);
  // Loaded here: http.ts brings the signing code, which `list` needs only with meshes to ask about.
  const { brokerHealth } = await import("../client/http.ts");
  try {
    await brokerHealth(url, timeoutMs, path);
    return null;
  } catch (err) {
    if (err instanceof MeshError || err instanceof BrokerUrlError) return err;
    throw err;
  }
}

/** A trouble of brokerTrouble's as brokerProblem says it: without "nothing was sent". */
export const troubleText = (err: MeshError | BrokerUrlError): string => (err instanceof NotSentError ? err.readOnly : err.message);
