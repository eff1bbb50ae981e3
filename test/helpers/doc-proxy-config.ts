// The reverse-proxy configurations of docs/operations.md ("Behind a reverse proxy"), taken from the
// document's own fenced blocks so that what operators copy is what the tests run. Only the values
// the document tells operators to replace are replaced (the host name, the port it listens on,
// the certificate paths, the broker's address), and each must be found exactly where expected: a
// document that drops or renames one fails here instead of being tested in a form nobody reads.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fencedBlocks } from "./markdown.ts";

const OPERATIONS = resolve(import.meta.dir, "../../docs/operations.md");
const SECTION = "## Behind a reverse proxy";

/** What the test substitutes for the document's placeholders. */
export type ProxySite = { listenPort: number; brokerPort: number; certFile: string; keyFile: string };

/** The section's text, from its heading to the next `## `. */
function section(): string {
  const md = readFileSync(OPERATIONS, "utf8");
  const start = md.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`docs/operations.md has no "${SECTION}" section`);
  const end = md.indexOf("\n## ", start + SECTION.length + 2);
  return md.slice(start, end < 0 ? undefined : end);
}

/** The one block of the section with info string `info`. */
function block(info: string): string {
  const found = fencedBlocks(section()).filter((b) => b.info === info);
  if (found.length !== 1) throw new Error(`docs/operations.md "${SECTION}" has ${found.length} \`\`\`${info} blocks; expected 1`);
  return found[0]!.body;
}

/** Replaces `from` (a literal), which must occur `times` times, by `to`. */
function replace(text: string, from: string, to: string, times: number): string {
  const n = text.split(from).length - 1;
  if (n !== times) throw new Error(`docs/operations.md's proxy block has ${n} × ${JSON.stringify(from)}; the test replaces ${times}:\n${text}`);
  return text.split(from).join(to);
}

/** The broker's settings the section gives "with either" proxy (`CLAUDEMESH_TRUSTED_PROXIES=…`). */
export function documentedBrokerEnv(): Record<string, string> {
  const m = /With either: `CLAUDEMESH_TRUSTED_PROXIES=([^`]+)` and\s+`CLAUDEMESH_PUBLIC_URL=([^`]+)`/.exec(section());
  if (!m) throw new Error(`docs/operations.md "${SECTION}" no longer says "With either: \`CLAUDEMESH_TRUSTED_PROXIES=…\` and \`CLAUDEMESH_PUBLIC_URL=…\`"`);
  return { CLAUDEMESH_TRUSTED_PROXIES: m[1]!, CLAUDEMESH_PUBLIC_URL: m[2]! };
}

/** The nginx block (a `map` and a `server`, as in a file of /etc/nginx/sites-enabled/). */
export function nginxSite(s: ProxySite): string {
  let text = block("nginx");
  text = replace(text, "listen 443 ssl;", `listen 127.0.0.1:${s.listenPort} ssl;`, 1);
  text = replace(text, "/etc/letsencrypt/live/mesh.example.com/fullchain.pem", s.certFile, 1);
  text = replace(text, "/etc/letsencrypt/live/mesh.example.com/privkey.pem", s.keyFile, 1);
  return replace(text, "http://127.0.0.1:7900", `http://127.0.0.1:${s.brokerPort}`, 2);
}

/** The Caddy block, with its commented `tls` line in force (the test's certificate is its own
 *  CA's) and the site named `localhost`, which the certificate names. */
export function caddySite(s: ProxySite): string {
  let text = block("caddyfile");
  text = replace(text, "mesh.example.com {", "localhost {", 1);
  text = text.replace(/^(\s*)# (tls \/etc\/ssl\/claudemesh\/fullchain\.pem \/etc\/ssl\/claudemesh\/privkey\.pem)\b.*$/m, "$1$2");
  text = replace(text, "tls /etc/ssl/claudemesh/fullchain.pem /etc/ssl/claudemesh/privkey.pem", `tls ${s.certFile} ${s.keyFile}`, 1);
  return replace(text, "reverse_proxy 127.0.0.1:7900", `reverse_proxy 127.0.0.1:${s.brokerPort}`, 1);
}
