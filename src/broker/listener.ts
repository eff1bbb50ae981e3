// The broker's listening socket: one Bun server, or with TLS, the server of the certificate in
// force plus those of earlier certificates, which no longer listen but keep serving the
// connections they hold until these close. Bun 1.4 cannot change a running server's certificate:
// `server.reload({ tls })` takes the handlers and ignores `tls` (oven-sh/bun#43815; measured on
// 1.4.5, the old serial is still served). So a new certificate is put in force by a new server on
// the same address and port, opened beside the old one with SO_REUSEPORT before the old one stops
// listening: no moment without a listener, and open WebSockets are not touched.
import type { Server } from "bun";
import type { TlsMaterial } from "../config/tls-files.ts";

/** What the listener adds to the broker's own options for each server it opens. */
export type ListenOptions = { port: number; tls?: { cert: string; key: string }; reusePort?: boolean };

export class Listener<T> {
  /** Every server still open, the one listening last. */
  #servers: Server<T>[];

  /** Opens the first server on `port` (0: any free one) through `open`, which adds the broker's
   *  handlers; with `tls`, it serves that certificate. Throws what Bun.serve throws. */
  constructor(
    private readonly open: (o: ListenOptions) => Server<T>,
    port: number,
    tls: TlsMaterial | null,
  ) {
    // SO_REUSEPORT only with TLS, the only case with a second server (renew); without it, a second
    // process on the same port is refused by the kernel as before.
    this.#servers = [open(tls ? { port, tls: { cert: tls.cert, key: tls.key }, reusePort: true } : { port })];
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

  /** Puts `tls` in force for new connections: a new server on the same port, then the current one
   *  stops listening (its connections stay, served as before). Throws what Bun.serve throws (the
   *  port's address gone, a certificate Bun refuses), with the current server still listening. A
   *  retired server with nothing open any more is let go. */
  renew(tls: TlsMaterial): void {
    const next = this.open({ port: this.port, tls: { cert: tls.cert, key: tls.key }, reusePort: true });
    const previous = this.current;
    this.#servers.push(next);
    previous.stop(false);
    this.#servers = this.#servers.filter((s) => s === next || s.pendingRequests + s.pendingWebSockets > 0);
  }

  /** Stops every server: `closeActive` false stops listening and lets requests finish; true also
   *  closes every connection. */
  stop(closeActive: boolean): void {
    for (const s of this.#servers) s.stop(closeActive);
  }
}
