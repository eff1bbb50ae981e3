// A real `serve` process that terminates TLS itself (docs/operations.md "TLS without a proxy"),
// with a certificate from a throwaway CA (tls-ca.ts) laid out as certbot lays out its files, so a
// test can renew it and send SIGHUP. Shared by the native TLS tests.
import { existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { cli, identities, ok } from "./cli.ts";
import { serveProcess, type ServeProcess } from "./process.ts";
import { tempDir } from "./temp-dir.ts";
import { makeChainCa, type ChainCa } from "./tls-ca.ts";

const LISTENING = /"msg":"broker listening","url":"https:\/\/127\.0\.0\.1:(\d+)"/;

export type TlsBroker = {
  url: string;
  port: number;
  ca: ChainCa;
  caFile: string;
  root: string;
  live: { cert: string; key: string };
  /** Points live/ at another pair, as certbot's renewal does. */
  point(pair: { certFile: string; keyFile: string }): void;
  serve: ServeProcess;
  logs(): Record<string, any>[];
  [Symbol.asyncDispose](): Promise<void>;
};

/** `live/` holds links to the files of `archive/`, as certbot's do; `point` aims them at another pair. */
function certbotLayout(root: string, ca: ChainCa) {
  mkdirSync(join(root, "live"));
  const live = { cert: join(root, "live", "fullchain.pem"), key: join(root, "live", "privkey.pem") };
  const point = (pair: { certFile: string; keyFile: string }) => {
    for (const [link, target] of [[live.cert, pair.certFile], [live.key, pair.keyFile]] as const) {
      if (existsSync(link)) unlinkSync(link);
      symlinkSync(target, link);
    }
  };
  point(ca.issue("first"));
  return { live, point };
}

/** `serve` on port 0 of 127.0.0.1 (or `--port` in `extra`) with the certificate of `live/`;
 *  clients use https://localhost. `command`: the compiled binary instead of the source. */
export async function tlsBroker(extra: string[] = [], opts: { command?: string[] } = {}): Promise<TlsBroker> {
  const root = tempDir("cm-tls-");
  const ca = makeChainCa(root);
  const { live, point } = certbotLayout(root, ca);
  const port = extra.includes("--port") ? [] : ["--port", "0"];
  const serve = serveProcess([...port, "--data-dir", join(root, "data"), "--tls-cert", live.cert, "--tls-key", live.key, ...extra], { command: opts.command, env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  const listening = Number((await serve.waitFor(LISTENING).catch(async (err) => (await serve[Symbol.asyncDispose](), Promise.reject(err))))[1]);
  return {
    url: `https://localhost:${listening}`,
    port: listening,
    ca,
    caFile: ca.caFile,
    root,
    live,
    point,
    serve,
    logs: () => serve.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)),
    [Symbol.asyncDispose]: serve[Symbol.asyncDispose],
  };
}

/** The serial of the certificate a fresh TLS connection is served (verified against the root). */
export function servedSerial(b: TlsBroker): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: b.port, servername: "localhost", ca: readFileSync(b.caFile, "utf8") }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.end();
    });
    socket.on("error", reject);
  });
}

/** The serial of the (first) certificate in `certFile`. */
export const serialOf = (certFile: string) => new X509Certificate(readFileSync(certFile)).serialNumber.toUpperCase();

/** Alice's mesh `name` on `b`, which bob joined, both trusting its root (`env`: what each of
 *  their commands is given); their config directories are removed at the end of its scope. */
export async function tlsPair(b: TlsBroker, name: string): Promise<{ alice: string; bob: string; env: Record<string, string>; [Symbol.asyncDispose](): Promise<void> }> {
  const ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const env = { NODE_EXTRA_CA_CERTS: b.caFile };
  ok(await cli(alice, ["new", name, "--broker", b.url, "--display-name", "alice", "--json"], { env }), "new");
  ok(await cli(bob, ["join", ok(await cli(alice, ["invite", "--json"], { env }), "invite").json().link, "--display-name", "bob", "--json"], { env }), "join");
  return { alice, bob, env, [Symbol.asyncDispose]: ids[Symbol.asyncDispose] };
}
