// A session client's attestation, renewed before it expires: when the attestor would renew it
// (80 % of its lifetime), so the broker never closes the session for an expired one (4101); every
// hello (a reconnect, a machine waking from sleep) carries a new one too.
import type { AttestationFields } from "../protocol/frames.ts";
import type { SessionAttestor } from "./credentials.ts";
import { backoffDelay } from "./reconnect.ts";

export class AttestationRenewal {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the attestation the broker holds expires. */
  private validUntil = 0;

  constructor(
    private readonly attestor: SessionAttestor,
    /** Sends `attest` with the attestation; resolves once the broker took it. */
    private readonly send: (attestation: AttestationFields) => Promise<unknown>,
    /** Whether the link is open (a renewal is only sent on an open one). */
    private readonly open: () => boolean,
    private readonly random?: () => number,
  ) {}

  /** A hello carried an attestation valid until `expiresAt`. */
  sent(expiresAt: number): void {
    this.validUntil = expiresAt;
  }

  /** Plans the next renewal (after a hello_ack, or a renewal the broker took). */
  schedule(): void {
    this.renew(Math.max(0, this.attestor.renewAt() - Date.now()), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends a new attestation in `delayMs`. One that fails (a timeout, the database busy) is tried
   *  again with the reconnect backoff while the broker's copy is still valid; past that, the 4101
   *  close and the reconnect bring a fresh one. A drop ends the tries: the next hello carries a new
   *  attestation. */
  private renew(delayMs: number, failures: number): void {
    this.stop();
    this.timer = setTimeout(() => {
      if (!this.open()) return;
      const attestation = this.attestor.renew();
      this.send(attestation).then(
        () => {
          this.validUntil = attestation.expiresAt;
          this.schedule();
        },
        () => {
          const retryMs = backoffDelay(failures, this.random);
          if (this.open() && Date.now() + retryMs < this.validUntil) this.renew(retryMs, failures + 1);
        },
      );
    }, delayMs);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
