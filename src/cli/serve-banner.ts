// What `serve` prints to stderr once it listens, after the JSON "broker listening" line: where it
// serves, and on the first start on a data directory how to begin and the operator token, which
// exists nowhere else in clear (docs/operations.md "First run").
import { fstatSync } from "node:fs";
import type { BrokerConfig } from "../config/load.ts";
import { dataDirCommand } from "../config/command-line.ts";
import { VERSION } from "../version.ts";
import { isLoopbackHost } from "../client/broker-url.ts";
import type { CertificateFacts } from "../config/tls-files.ts";
import { isIP } from "node:net";

const WILDCARD = new Set(["0.0.0.0", "::"]);

export type BannerOpts = {
  /** How the reader runs claudemesh (`bun run src/main.ts` from a checkout). */
  cli?: string;
  /** exposedLogMode(): set when stderr is a file other users can read, where the token must not go. */
  exposedLog?: number | null;
  /** The certificate served when the broker terminates TLS itself (`url` is then https://). */
  certificate?: CertificateFacts | null;
};

/** The long form (first start, `firstRunToken` set) says how to begin and shows the operator
 *  token, unless the log is exposed. The dashboard, API docs and websocket lines give the address
 *  people and clients use: publicUrl when set, else, when the broker serves TLS on an address its
 *  certificate does not name, the certificate's first DNS name (what clients must use for it to
 *  verify); never a wildcard such as 0.0.0.0, which is no address to connect to; the health line
 *  the one a local supervisor probes. A broker reachable beyond this machine over plain HTTP
 *  without an https publicUrl gets a warning line on every start: its dashboard login would cross
 *  the network in clear; so does a TLS broker whose publicUrl clients could not use. */
export function banner(config: BrokerConfig, url: string, firstRunToken: string | null, opts: BannerOpts = {}): string {
  const cli = opts.cli ?? "claudemesh";
  const { port, protocol } = new URL(url);
  const scheme = protocol.slice(0, -1);
  const cert = opts.certificate ?? null;
  const wildcard = WILDCARD.has(config.host);
  const certName = cert && !isLoopbackHost(config.host) && !cert.names.includes(config.host) ? cert.names.find((n) => isIP(n) === 0 && !n.startsWith("*.")) : undefined;
  const outside = config.publicUrl ? config.publicUrl.replace(/\/+$/, "") : certName ? `https://${certName}:${port}` : wildcard ? `${scheme}://<this machine's address>:${port}` : url;
  const clear = !cert && !isLoopbackHost(config.host) && !config.publicUrl.startsWith("https:");
  // A local probe reaches a wildcard listener on loopback.
  const local = wildcard ? `${scheme}://${config.host === "::" ? "[::1]" : "127.0.0.1"}:${port}` : url;
  const where = [
    `claudemesh ${VERSION} is serving ${url}${config.publicUrl ? ` (public URL ${outside})` : ""}`,
    `  data dir   ${config.dataDir}`,
    ...(cert ? [`  TLS        ${cert.names.join(", ") || cert.subject}, serial ${cert.serial}, until ${cert.notAfter} (SIGHUP reads ${config.tlsCert} again)`] : []),
    `  dashboard  ${outside}/`,
    `  API docs   ${outside}/docs`,
    ...(firstRunToken ? [`  websocket  ${outside.replace(/^http/, "ws")}/ws`, `  health     ${local}/health/ready`] : []),
    ...(clear ? [`warning: listening on ${wildcard ? `every interface (${config.host})` : config.host} over plain HTTP: the dashboard's operator login would cross the network unencrypted; serve TLS itself (--tls-cert and --tls-key) or put a TLS proxy in front, and set --public-url https://…; or listen on 127.0.0.1`] : []),
    ...(cert ? tlsWarnings(config, cert) : []),
  ];
  if (!firstRunToken) return where.join("\n");
  const issue = `\`${dataDirCommand(["admin", "token"], config.dataDir, cli)}\``;
  return [
    ...where,
    "",
    "First start on this data directory. Create the first mesh (on the machine you work on):",
    `  ${cli} new my-team --broker ${outside}`,
    `then \`${cli} invite\` for teammates and \`${cli} install\` to connect Claude Code.`,
    ...(config.publicUrl || !wildcard ? [] : ["Set --public-url (or CLAUDEMESH_PUBLIC_URL) to the address clients use."]),
    // The default: that `new` works on this machine alone, and the invites it leads to name this
    // address, which no teammate elsewhere can reach (and a mesh keeps its broker URL).
    ...(config.publicUrl || !isLoopbackHost(config.host) ? [] : [`It listens on ${config.host}, which only this machine reaches: for teammates on other machines, ${cert ? `listen on 0.0.0.0 (--host) and set --public-url https://<a name its certificate gives>:${port}` : "serve TLS itself (--tls-cert and --tls-key, on --host 0.0.0.0) or put a TLS proxy in front, and set --public-url https://…"} before creating the mesh (docs/operations.md, ${cert ? '"TLS without a proxy"' : '"TLS without a proxy", "Behind a reverse proxy"'}).`]),
    "",
    ...(opts.exposedLog == null
      ? [`Operator token for the dashboard (shown once; keep it; ${issue} issues a new one):`, `  ${firstRunToken}`]
      : [
          `Operator token for the dashboard: withheld, because this log file (stderr, mode ${opts.exposedLog.toString(8).padStart(3, "0")}) is readable by other users.`,
          `Issue one with ${issue} (it replaces the one made now), and make the log private (chmod 600).`,
        ]),
  ].join("\n");
}

/** What keeps clients from using the publicUrl of a broker that serves TLS itself: a plain http://
 *  one (this port drops plain HTTP), or a host its certificate does not name (clients refuse it). */
function tlsWarnings(config: BrokerConfig, cert: CertificateFacts): string[] {
  if (!config.publicUrl) return [];
  const { protocol, hostname } = new URL(config.publicUrl);
  if (protocol === "http:") return [`warning: publicUrl ${config.publicUrl} is plain http://, but this broker serves TLS: clients given it cannot connect; set --public-url https://…`];
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const named = cert.names.some((n) => n.toLowerCase() === host || (n.startsWith("*.") && host.endsWith(n.slice(1).toLowerCase()) && !host.slice(0, -n.length + 1).includes(".")));
  return named ? [] : [`warning: the TLS certificate names ${cert.names.join(", ") || "no host"}, not ${host} (publicUrl): clients will refuse it; use a certificate for ${host}, or a publicUrl with one of its names`];
}

/** The permission bits of stderr when it is a regular file that group or others may read (a log
 *  file launchd created 0644 for a Homebrew service), else null: a terminal, a pipe or the
 *  journal's socket reach only whoever reads this broker's output anyway. */
export function exposedLogMode(): number | null {
  try {
    const st = fstatSync(2);
    return st.isFile() && (st.mode & 0o044) !== 0 ? st.mode & 0o777 : null;
  } catch {
    return null;
  }
}
