// The broker's TLS certificate and key (tlsCert, tlsKey), read and checked before they are used:
// by `serve` before it touches the data directory, by `serve --check`, by the broker as it starts
// and on each SIGHUP (broker/listener.ts). A file that cannot be used is named, with why and what
// to do, instead of the "NO_START_LINE" or "KEY_VALUES_MISMATCH" Bun's TLS layer throws.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, statSync, type Stats } from "node:fs";
import { fileError, LocalFileError, modeOf } from "../local-file/error.ts";

/** What the broker logs and shows of the certificate in force. */
export type CertificateFacts = {
  /** The serial number in hex, as `openssl x509 -serial` prints it. */
  serial: string;
  subject: string;
  issuer: string;
  /** The subjectAltName entries (DNS names and IP addresses), the names clients may use. */
  names: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** Certificates in the file: the server's and its chain. */
  chain: number;
};

/** The PEM texts as Bun.serve's `tls` takes them, and what they hold. */
export type TlsMaterial = { cert: string; key: string; certificate: CertificateFacts };

/** Why a file cannot be used. `kind` says whether a restart can help: "setting" (a path or file
 *  to correct, serve exit 2), "access" (this user may not read it, exit 77), "passing" (an I/O
 *  error, exit 1). */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  constructor(
    message: string,
    readonly fix: string | null,
    readonly kind: "setting" | "access" | "passing",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A PEM file is a few kilobytes (a chain of four certificates is under 8 KiB); past this it is
 *  not one, and /dev/zero would never end. */
const MAX_PEM_BYTES = 1024 * 1024;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const CERT_BEGIN = /-----BEGIN CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/;

/** The fix for a key file this user may not read: certbot keeps its keys readable by root alone. */
const ACCESS_FIX = (path: string) =>
  `give the broker's user read access to ${path} (certbot's /etc/letsencrypt/{live,archive} are root's alone: a deploy hook that copies the files for it, or a group it is in; docs/operations.md, "TLS without a proxy")`;

/** Reads and checks `certFile` and `keyFile` (absolute paths, as the config holds them): regular
 *  files of PEM text; the certificates parse; the key parses, is not encrypted, is not readable by
 *  every user of this machine, and is the key of the first certificate. Throws TlsFileError. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const key = readPem(keyFile, "key");
  const cert = certFile === keyFile ? key : readPem(certFile, "certificate");
  const chain = certificates(cert.text, certFile);
  const keyObject = privateKey(key.text, keyFile, chain.length === 0);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(keyObject)) {
    const later = chain.findIndex((c, i) => i > 0 && c.checkPrivateKey(keyObject));
    if (later > 0) throw new TlsFileError(`the key in ${keyFile} belongs to certificate ${later + 1} of ${chain.length} in ${certFile}, not to the first one`, "put the server's own certificate first in that file, then its chain (the order of certbot's fullchain.pem)", "setting");
    throw new TlsFileError(`the key in ${keyFile} is not the private key of the certificate in ${certFile} (${leaf.subject.replaceAll("\n", ", ")})`, "give the key made with that certificate: certbot's privkey.pem from the same live/ directory as its fullchain.pem", "setting");
  }
  return { cert: cert.text, key: key.text, certificate: facts(leaf, chain.length) };
}

/** Why the certificate cannot be verified at `nowMs` (expired, not valid yet), or null. Said as a
 *  warning, not refused: clients refuse it anyway, and a broker that keeps serving can take the
 *  renewed one on SIGHUP. */
export function validityProblem(c: CertificateFacts, nowMs: number): string | null {
  if (Date.parse(c.notAfter) < nowMs) return `the TLS certificate expired on ${c.notAfter}: clients refuse it; renew it, then send the broker SIGHUP`;
  if (Date.parse(c.notBefore) > nowMs) return `the TLS certificate is valid only from ${c.notBefore}: clients refuse it until then (or this machine's clock is behind)`;
  return null;
}

/** The file's text: a regular file, at most MAX_PEM_BYTES; if it holds a private key, not one
 *  every user may read (a certificate file is public, and a key file that holds no key is refused
 *  for that, as a swap, by privateKey). */
function readPem(path: string, role: "certificate" | "key"): { text: string } {
  const what = `the TLS ${role} file`;
  const setting = `give ${settingOf(role)} the path of the PEM ${role} file`;
  const st = onPem(path, what, role, () => statSync(path));
  if (!st.isFile()) throw new TlsFileError(`${what} ${path} is ${st.isDirectory() ? "a directory" : "not a regular file"}`, setting, "setting");
  if (st.size > MAX_PEM_BYTES) throw new TlsFileError(`${what} ${path} holds ${st.size} bytes, more than a PEM file holds`, setting, "setting");
  const text = onPem(path, what, role, () => readFileSync(path, "utf8"));
  if (KEY_BLOCK.test(text)) refuseShared(path, st);
  return { text };
}

/** The setting a role's file is given in, and where. */
const settingOf = (role: "certificate" | "key") => (role === "key" ? "tlsKey (--tls-key, CLAUDEMESH_TLS_KEY or the config file)" : "tlsCert (--tls-cert, CLAUDEMESH_TLS_CERT or the config file)");

/** Refuses a file holding a private key that every user of this machine may read (or write): any
 *  of them could pose as the broker. Group access is allowed: a group the broker's user is in is
 *  how a key is shared with a service (Debian's ssl-cert group; the certbot deploy hook of
 *  docs/operations.md writes it 640 with the broker's group). */
function refuseShared(path: string, st: Stats): void {
  if ((st.mode & 0o007) === 0) return;
  throw new TlsFileError(`the TLS key file ${path} can be read by every user of this machine (mode ${modeOf(st)}), so any of them could pose as the broker`, `chmod o-rwx ${path} (600, or 640 with a group the broker's user is in)`, "setting");
}

/** Runs a file system call on `path`; its error becomes a TlsFileError naming the file. */
function onPem<T>(path: string, what: string, role: "certificate" | "key", work: () => T): T {
  try {
    return work();
  } catch (cause) {
    const err = fileError(cause, path, "read", { what, fix: { EACCES: ACCESS_FIX(path), EPERM: ACCESS_FIX(path), ENOENT: `check the path given to ${settingOf(role)}` } });
    if (!(err instanceof LocalFileError)) throw err;
    const code = (cause as { code?: string }).code ?? "";
    const kind = ["EACCES", "EPERM"].includes(code) ? "access" : ["ENOENT", "ENOTDIR", "EISDIR", "ELOOP", "ENAMETOOLONG"].includes(code) ? "setting" : "passing";
    // fileError's sentence starts a line of its own; here it follows "cannot start: ".
    const message = err.message.replace(/\.$/, "");
    throw new TlsFileError(message.charAt(0).toLowerCase() + message.slice(1), err.fix, kind, { cause });
  }
}

/** The certificates of `text`, in order; at least one. */
function certificates(text: string, path: string): X509Certificate[] {
  const blocks = text.match(CERT_BLOCK) ?? [];
  const fix = "give tlsCert the certificate file: the server's certificate first, then its chain (certbot's fullchain.pem)";
  if (blocks.length === 0) {
    const swapped = KEY_BLOCK.test(text) ? ": it holds a private key; are tlsCert and tlsKey swapped?" : "";
    throw new TlsFileError(`the TLS certificate file ${path} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)${swapped}`, fix, "setting");
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw new TlsFileError(`certificate ${i + 1} of ${blocks.length} in ${path} does not parse (${(cause as Error).message})`, fix, "setting", { cause });
    }
  });
}

/** The private key of `text`. `certOnly`: the certificate file held none, so a swap is likelier. */
function privateKey(text: string, path: string, certOnly: boolean): KeyObject {
  const fix = "give tlsKey the private key file (certbot's privkey.pem)";
  if (ENCRYPTED.test(text)) throw new TlsFileError(`the TLS key file ${path} is encrypted with a passphrase, which the broker has no way to ask for`, `write it without one, readable by the broker alone: openssl pkey -in ${path} -out <new file> (it asks for the passphrase), then chmod 600 <new file>`, "setting");
  if (!KEY_BLOCK.test(text)) {
    const swapped = CERT_BEGIN.test(text) || certOnly ? ": it holds a certificate; are tlsCert and tlsKey swapped?" : "";
    throw new TlsFileError(`the TLS key file ${path} holds no PEM private key (a "-----BEGIN PRIVATE KEY-----" block)${swapped}`, fix, "setting");
  }
  try {
    return createPrivateKey(text);
  } catch (cause) {
    throw new TlsFileError(`the private key in ${path} does not parse (${(cause as Error).message})`, fix, "setting", { cause });
  }
}

function facts(c: X509Certificate, chain: number): CertificateFacts {
  const names = (c.subjectAltName ?? "").split(/,\s*/).flatMap((entry) => {
    const m = /^(?:DNS|IP Address):(.+)$/.exec(entry.trim());
    return m ? [m[1]!] : [];
  });
  const iso = (text: string) => new Date(text).toISOString();
  const line = (dn: string) => dn.replaceAll("\n", ", ");
  return { serial: c.serialNumber.toUpperCase(), subject: line(c.subject), issuer: line(c.issuer), names, notBefore: iso(c.validFrom), notAfter: iso(c.validTo), chain };
}
