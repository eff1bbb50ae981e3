// A certificate renewed while the broker runs (certbot's renewal, then `systemctl reload
// claudemesh`, which sends SIGHUP): the files are read and checked again, and served to new
// connections (listener.ts); open connections keep theirs. Files that cannot be used now (half
// written, a key that does not match, a mode others can read) leave the certificate in force, and
// the log says why, so that a bad renewal never takes the broker down.
import type { BrokerConfig } from "../config/load.ts";
import { readTlsFiles, TlsFileError, validityProblem, type CertificateFacts, type TlsMaterial } from "../config/tls-files.ts";
import type { Log } from "../log/log.ts";
import type { Listener } from "./listener.ts";

/** The certificate and key files: tlsCert and tlsKey as the config gives them at start, or as a
 *  SIGHUP's reading of the config file changed them since. */
export type TlsFiles = Pick<BrokerConfig, "tlsCert" | "tlsKey">;

/** The certificate as the log shows it: the files and what the certificate says. */
export const certificateLog = (files: TlsFiles, c: CertificateFacts) => ({ certFile: files.tlsCert, keyFile: files.tlsKey, ...c });

/** A warning when the certificate put in force cannot be verified now (expired, not valid yet). */
export function warnIfInvalid(log: Log, files: TlsFiles, c: CertificateFacts, nowMs: number): void {
  const problem = validityProblem(c, nowMs);
  if (problem) log.warn(problem, { certFile: files.tlsCert, notBefore: c.notBefore, notAfter: c.notAfter });
}

/** Reads `files` and puts them in force. Returns the material then in force and whether it is
 *  theirs (`used`): false, with `inForce` kept, when they cannot be used. Never throws. The new
 *  certificate's `TLS certificate reloaded` is logged once the previous listener's handover has
 *  ended (listener.ts HANDOVER_MS), when no new connection gets the old one any more. */
export function reloadCertificate<T>(listener: Listener<T>, files: TlsFiles, log: Log, inForce: TlsMaterial, nowMs: number): { tls: TlsMaterial; used: boolean } {
  const previous = { serial: inForce.certificate.serial, notAfter: inForce.certificate.notAfter };
  let next: TlsMaterial;
  try {
    next = readTlsFiles(files.tlsCert, files.tlsKey);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    log.error(`TLS certificate not reloaded: ${err.message}; still serving the previous one`, { certFile: files.tlsCert, keyFile: files.tlsKey, fix: err.fix, ...previous });
    return { tls: inForce, used: false };
  }
  if (next.cert === inForce.cert && next.key === inForce.key) {
    log.info("TLS certificate reloaded: the files are unchanged", { certFile: files.tlsCert, ...previous });
    return { tls: inForce, used: true };
  }
  let handedOver: Promise<void>;
  try {
    handedOver = listener.renew(next);
  } catch (err) {
    log.error("TLS certificate not reloaded: the new listener could not start; still serving the previous one", { err, certFile: files.tlsCert, ...previous });
    return { tls: inForce, used: false };
  }
  // Said once the previous listener has stopped: from then on every new connection gets it.
  void handedOver.then(() => {
    warnIfInvalid(log, files, next.certificate, nowMs);
    log.info("TLS certificate reloaded", { ...certificateLog(files, next.certificate), previousSerial: previous.serial });
  });
  return { tls: next, used: true };
}
