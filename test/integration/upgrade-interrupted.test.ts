// `claudemesh upgrade` stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP (its terminal closed: an ssh
// session dropped) midway through a download: the
// compiled binary of this checkout, installed in a temp directory as install.sh leaves it,
// downloads from a local server that announces a whole binary, sends a part and then stalls. The
// partial download beside the binary (.claudemesh.new.<pid>, named by a PID no later run has) is
// removed: the install directory holds what it held before.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";
import { releaseTarget, thisPlatform } from "../../src/cli/upgrade/release-layout.ts";

const ROOT = join(import.meta.dir, "../..");
const ASSET = `claudemesh-${(releaseTarget(thisPlatform()) as { target: string }).target}`;
const work = tempDir("cm-upgrade-int-");
const built = join(work, "claudemesh");
let server: import("bun").TCPSocketListener<undefined>;

beforeAll(async () => {
  const b = Bun.spawnSync(["bun", "build", "--compile", join(ROOT, "src/main.ts"), "--outfile", built], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`bun build --compile failed: ${b.stderr.toString()}`);
  // latest/ names v9.9.9 as GitHub's redirect does; the asset says 100 MB and sends 1 MB of it.
  server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, chunk) {
        const path = /^GET (\S+) HTTP/.exec(chunk.toString())?.[1] ?? "/";
        if (path === "/latest/SHA256SUMS") return void sock.end(`HTTP/1.1 302 Found\r\nLocation: /v9.9.9/SHA256SUMS\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        if (path === "/v9.9.9/SHA256SUMS") {
          const body = `${"ab".repeat(32)}  ${ASSET}\n`;
          return void sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        }
        if (path === `/v9.9.9/${ASSET}`) {
          sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${100 * 1024 * 1024}\r\nConnection: close\r\n\r\n`);
          return void sock.write(new Uint8Array(64 * 1024));
        }
        sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      },
    },
  });
}, 120_000);

afterAll(() => server?.stop(true));

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  test(`${signal} during the download: the partial download is removed, the binary untouched`, async () => {
    const dir = join(tempDir("cm-upgrade-int-"), "bin");
    mkdirSync(dir);
    const bin = join(dir, "claudemesh");
    copyFileSync(built, bin);
    const p = Bun.spawn([bin, "upgrade"], { env: { PATH: "/usr/bin:/bin", HOME: work, CLAUDEMESH_DOWNLOAD_URL: `http://127.0.0.1:${server.port}` }, stdout: "pipe", stderr: "pipe" });
    const err = new Response(p.stderr).text();
    await until(() => readdirSync(dir).some((n) => n.startsWith(".claudemesh.new.")), "the download under way", 30_000);
    p.kill(signal);
    expect({ exit: await p.exited, left: readdirSync(dir).sort() }).toEqual({ exit: code, left: ["claudemesh"] });
    expect(await err).toContain("upgrade interrupted");
  }, 60_000);
}
