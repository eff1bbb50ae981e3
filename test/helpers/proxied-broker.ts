// `claudemesh serve` (a real process) behind Debian's nginx or Caddy, configured as
// docs/operations.md "Behind a reverse proxy" says: the document's site block
// (doc-proxy-config.ts), the broker's settings the document gives with it, TLS with a throwaway
// CA's certificate (tls-ca.ts). Everything is stopped and removed at the end of the scope.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { caddySite, documentedBrokerEnv, nginxSite } from "./doc-proxy-config.ts";
import { serveProcess, type ServeProcess } from "./process.ts";
import { freePort, startProxy, type ProxyKind, type RunningProxy } from "./real-proxy.ts";
import { tempDir } from "./temp-dir.ts";
import { makeTestCa, type TestCa } from "./tls-ca.ts";

export type ProxiedBroker = {
  /** The outside URL, `https://localhost:<port>` (the broker's publicUrl). */
  url: string;
  /** The broker's own URL, `http://127.0.0.1:<port>`, for a client that bypasses the proxy. */
  direct: string;
  ca: TestCa;
  /** The CA's PEM, for in-process clients (`fetch(url, { tls: { ca } })`). */
  caPem: string;
  serve: ServeProcess;
  proxy: RunningProxy;
  /** Scratch space removed with the rest. */
  root: string;
  /** The broker's JSON log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  [Symbol.asyncDispose](): Promise<void>;
};

const LISTENING = /"msg":"broker listening","url":"http:\/\/127\.0\.0\.1:(\d+)"/;

/** `env`: more broker settings (CLAUDEMESH_*), over the documented ones. */
export async function proxiedBroker(kind: ProxyKind, env: Record<string, string> = {}): Promise<ProxiedBroker> {
  const root = tempDir(`cm-${kind}-`);
  const ca = makeTestCa(root);
  const listenPort = await freePort();
  const url = `https://localhost:${listenPort}`;
  const documented = documentedBrokerEnv();
  const serve = serveProcess(["--port", "0", "--data-dir", join(root, "data")], {
    env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info", ...documented, CLAUDEMESH_PUBLIC_URL: url, ...env },
  });
  let proxy: RunningProxy;
  let brokerPort: number;
  try {
    brokerPort = Number((await serve.waitFor(LISTENING))[1]);
    const site = { listenPort, brokerPort, certFile: ca.certFile, keyFile: ca.keyFile };
    proxy = await startProxy(kind, kind === "nginx" ? nginxSite(site) : caddySite(site), listenPort, join(root, kind));
  } catch (err) {
    await serve[Symbol.asyncDispose]();
    throw err;
  }
  return {
    url,
    direct: `http://127.0.0.1:${brokerPort}`,
    ca,
    caPem: readFileSync(ca.caFile, "utf8"),
    serve,
    proxy,
    root,
    logs: () =>
      serve
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
    async [Symbol.asyncDispose]() {
      await proxy[Symbol.asyncDispose]();
      await serve[Symbol.asyncDispose]();
    },
  };
}
