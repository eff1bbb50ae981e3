// The broker's listening socket: one Bun server, or with TLS, the server of the certificate in
// force plus those of earlier certificates, which no longer listen but keep serving the
// connections they hold until these close. Bun 1.4 cannot change a running server's certificate:
// `server.reload({ tls })` takes the handlers and ignores `tls` (oven-sh/bun#43815; measured on
// 1.4.5, the old serial is still served). So a new certificate is put in force by a new server on
// the same address and port, opened beside the old one with SO_REUSEPORT before the old one stops
// listening: no moment without a listener, and open WebSockets are not touched.
import type { Server } from "bun";
import type { TlsMaterial } from "../config/tls-files.ts";
import { portSharers } from "./port-sharers.ts";

/** What the listener adds to the broker's own options for each server it opens. */
export type ListenOptions = { port: number; tls?: { cert: string; key: string }; reusePort?: boolean };

/** How long the previous server goes on listening beside the new one at a renewal. Connections
 *  the kernel queued for it while the broker was busy (reading the files, opening the new server)
 *  are accepted at the event loop's next turn; closed at once, its listening socket reset every one
 *  of them (measured: 10 of 10 queued connections). Those that reach it during this time get the
 *  old certificate, which is still good for the length of a renewal. */
export const HANDOVER_MS = 100;

export class Listener<T> {
  /** Every server still open, the one listening last. */
  #servers: Server<T>[];
  /** The servers told to stop listening: let go once nothing is open on them. */
  readonly #retired = new Set<Server<T>>();
  /** Handovers under way: each stops a previous server listening, at its time or at a stop. */
  readonly #handovers = new Set<() => void>();

  /** Opens the first server on `port` (0: any free one) through `open`, which adds the broker's
   *  handlers; with `tls`, it serves that certificate. Throws what Bun.serve throws, and an
   *  EADDRINUSE error when another process listens on that port beside it (port-sharers.ts). */
  constructor(
    private readonly open: (o: ListenOptions) => Server<T>,
    port: number,
    tls: TlsMaterial | null,
  ) {
    // SO_REUSEPORT only with TLS, the only case with a second server (renew); without it, a second
    // process on the same port is refused by the kernel as before.
    const first = open(tls ? { port, tls: { cert: tls.cert, key: tls.key }, reusePort: true } : { port });
    this.#servers = [first];
    if (tls && portSharers(first.port!) > 0) {
      first.stop(true);
      throw Object.assign(new Error(`another process listens on port ${first.port} beside this broker (SO_REUSEPORT), and would take some of its connections`), { code: "EADDRINUSE" });
    }
  }

  /** The server that listens now. */
  get current(): Server<T> {
    return this.#servers.at(-1)!;
  }

  get port(): number {
    return this.current.port!;
  }

  /** HTTP requests under way on every server, the retired ones included. */
  get pendingRequests(): number {
    return this.#servers.reduce((n, s) => n + s.pendingRequests, 0);
  }

  /** Puts `tls` in force for new connections: a new server on the same port; the current one stops
   *  listening HANDOVER_MS later (its connections stay, served as before), and the promise
   *  resolves then: from that moment every new connection gets `tls`. Throws what Bun.serve throws
   *  (the port's address gone, a certificate Bun refuses), with the current server still
   *  listening. A retired server with nothing open any more is let go. */
  renew(tls: TlsMaterial): Promise<void> {
    const next = this.open({ port: this.port, tls: { cert: tls.cert, key: tls.key }, reusePort: true });
    const previous = this.current;
    this.#servers.push(next);
    for (const s of this.#retired) {
      if (s.pendingRequests + s.pendingWebSockets > 0) continue;
      this.#retired.delete(s);
      this.#servers = this.#servers.filter((o) => o !== s);
    }
    return new Promise((resolve) => {
      const handover = () => {
        clearTimeout(timer);
        this.#handovers.delete(handover);
        previous.stop(false);
        this.#retired.add(previous);
        resolve();
      };
      const timer = setTimeout(handover, HANDOVER_MS);
      this.#handovers.add(handover);
    });
  }

  /** Stops every server (a handover under way ends at once): `closeActive` false stops listening
   *  and lets requests finish; true also closes every connection. */
  stop(closeActive: boolean): void {
    for (const handover of [...this.#handovers]) handover();
    for (const s of this.#servers) s.stop(closeActive);
  }
}
