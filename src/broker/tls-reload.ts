// A certificate renewed while the broker runs (certbot's renewal, then `systemctl reload
// claudemesh`, which sends SIGHUP): the files are read and checked again, and served to new
// connections (listener.ts); open connections keep theirs. Files that cannot be used now (half
// written, a key that does not match, a mode others can read) leave the certificate in force, and
// the log says why, so that a bad renewal never takes the broker down.
import type { BrokerConfig } from "../config/load.ts";
import { readTlsFiles, TlsFileError, validityProblem, type CertificateFacts, type TlsMaterial } from "../config/tls-files.ts";
import type { Log } from "../log/log.ts";
import type { Listener } from "./listener.ts";

/** The certificate as the log shows it: the files and what the certificate says. */
export const certificateLog = (config: BrokerConfig, c: CertificateFacts) => ({ certFile: config.tlsCert, keyFile: config.tlsKey, ...c });

/** A warning when the certificate put in force cannot be verified now (expired, not valid yet). */
export function warnIfInvalid(log: Log, config: BrokerConfig, c: CertificateFacts, nowMs: number): void {
  const problem = validityProblem(c, nowMs);
  if (problem) log.warn(problem, { certFile: config.tlsCert, notBefore: c.notBefore, notAfter: c.notAfter });
}

/** Reads the files again and puts them in force; returns the material then in force (the new, or
 *  `inForce` when the files are the same or cannot be used). Never throws. The new certificate's
 *  `TLS certificate reloaded` is logged once the previous listener's handover has ended
 *  (listener.ts HANDOVER_MS), when no new connection gets the old one any more. */
export function reloadCertificate<T>(listener: Listener<T>, config: BrokerConfig, log: Log, inForce: TlsMaterial, nowMs: number): TlsMaterial {
  const previous = { serial: inForce.certificate.serial, notAfter: inForce.certificate.notAfter };
  let next: TlsMaterial;
  try {
    next = readTlsFiles(config.tlsCert, config.tlsKey);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    log.error(`TLS certificate not reloaded: ${err.message}; still serving the previous one`, { certFile: config.tlsCert, keyFile: config.tlsKey, fix: err.fix, ...previous });
    return inForce;
  }
  if (next.cert === inForce.cert && next.key === inForce.key) {
    log.info("TLS certificate reloaded: the files are unchanged", { certFile: config.tlsCert, ...previous });
    return inForce;
  }
  let handedOver: Promise<void>;
  try {
    handedOver = listener.renew(next);
  } catch (err) {
    log.error("TLS certificate not reloaded: the new listener could not start; still serving the previous one", { err, certFile: config.tlsCert, ...previous });
    return inForce;
  }
  // Said once the previous listener has stopped: from then on every new connection gets it.
  void handedOver.then(() => {
    warnIfInvalid(log, config, next.certificate, nowMs);
    log.info("TLS certificate reloaded", { ...certificateLog(config, next.certificate), previousSerial: previous.serial });
  });
  return next;
}
