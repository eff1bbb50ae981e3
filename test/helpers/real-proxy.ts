// Debian's nginx and Caddy as unprivileged processes in a temp dir (their own config, pid, log and
// state paths; no root, no port below 1024, no system service), serving a site block of
// docs/operations.md (test/helpers/doc-proxy-config.ts) over TLS with a test CA's certificate.
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { requireTool } from "./tls-ca.ts";
import { until } from "./until.ts";

export type ProxyKind = "nginx" | "caddy";

export type RunningProxy = {
  /** The outside URL: `https://localhost:<port>`. */
  url: string;
  port: number;
  /** What the proxy wrote to stderr so far (its error log). */
  stderr(): string;
  [Symbol.asyncDispose](): Promise<void>;
};

/** A TCP port nothing listens on now (the proxies cannot be told to pick one and say which). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

/** The main nginx.conf around the document's site block: everything that Debian's
 *  /etc/nginx/nginx.conf would set, pointed into `dir`. */
const nginxMain = (dir: string, site: string) => `daemon off;
master_process off;   # one process, as this user: no worker user to reach the temp dir
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr info;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;

/** Caddy's global options for a test: its own port and state directory, no admin endpoint, no
 *  port 80 redirect, no HTTP/3 (UDP), and no change to the system's trust store. */
const caddyMain = (dir: string, port: number, site: string) => `{
	admin off
	https_port ${port}
	default_bind 127.0.0.1
	auto_https disable_redirects
	skip_install_trust
	storage file_system ${dir}/data
	servers {
		protocols h1 h2
	}
}

${site}
`;

/** Starts `kind` with `site` (a block of the document, placeholders replaced) listening on
 *  `port`; resolves once it answers TLS there, or throws with its stderr if it exits first. */
export async function startProxy(kind: ProxyKind, site: string, port: number, dir: string): Promise<RunningProxy> {
  mkdirSync(dir, { recursive: true });
  let cmd: string[];
  if (kind === "nginx") {
    writeFileSync(join(dir, "nginx.conf"), nginxMain(dir, site));
    // -e: Debian's build opens its compiled-in error log before reading the configuration.
    cmd = [requireTool("nginx", "nginx"), "-p", dir, "-c", join(dir, "nginx.conf"), "-e", "stderr"];
  } else {
    writeFileSync(join(dir, "Caddyfile"), caddyMain(dir, port, site));
    cmd = [requireTool("caddy", "caddy"), "run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"];
  }
  const home = join(dir, "home");
  const proc = Bun.spawn(cmd, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let err = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  const stop = async () => {
    if (proc.exitCode === null) proc.kill("SIGTERM");
    await proc.exited;
    await reading;
  };
  try {
    await listening(port, () => proc.exitCode, () => err, kind);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `https://localhost:${port}`, port, stderr: () => err, [Symbol.asyncDispose]: stop };
}

/** Waits until something accepts TCP connections on `port` (polled: neither proxy reports it). */
async function listening(port: number, exitCode: () => number | null, stderr: () => string, kind: string): Promise<void> {
  const accepts = () =>
    Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
  await until(async () => {
    if (exitCode() !== null) throw new Error(`${kind} exited (${exitCode()}) before listening on ${port}:\n${stderr()}`);
    return accepts();
  }, `${kind} to listen on ${port}`, 15_000);
}
