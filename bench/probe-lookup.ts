// Diagnostic, not part of `bun run bench`: what one `claudemesh send <name> "text"` from a fresh
// process costs the broker in a big mesh (docs/benchmarks.md, "Session 35: resolving a name in a
// big mesh"). A real broker (createBroker, SQLite) runs in this process; the mesh is made by the
// CLI (`claudemesh new`), then `--members` members join through one invite over HTTP
// (bench/setup.ts). Each `--cli` (a src/main.ts, default this checkout's) then sends `--sends`
// times, by name, to a member in the middle of the mesh, as a subprocess. Reported per send: the
// bytes of the frames the broker wrote to the CLI, the broker's time in request handlers and in
// encoding and writing frames, its process CPU (this process: the CLI runs apart), and the
// requests the CLI made. With `--receive`, each CLI instead reads (`claudemesh inbox`, the owner's)
// a direct message `peer<n/2>` sent it just before: a sender no run of the CLI traced yet
// ("Session 35: receiving in a big mesh"). Run:
//   bun run bench/probe-lookup.ts --members 5000 --cli /work/main/src/main.ts --cli src/main.ts [--receive]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadBrokerConfig } from "../src/config/load.ts";
import { jsonLog } from "../src/log/log.ts";
import { openSqliteStore } from "../src/store/sqlite/open-store.ts";
import { createBroker } from "../src/broker/server.ts";
import { Conn } from "../src/broker/conn.ts";
import { HANDLERS } from "../src/broker/handlers/index.ts";
import { loadConfig } from "../src/client/local/config-file.ts";
import { BrokerClient } from "../src/client/client.ts";
import { MeshSession } from "../src/client/mesh-session.ts";
import { addMembers } from "./setup.ts";
import { LOAD_FLAGS } from "./servers.ts";

const { values } = parseArgs({ options: { members: { type: "string", default: "5000" }, cli: { type: "string", multiple: true }, sends: { type: "string", default: "5" }, receive: { type: "boolean", default: false } } });
const MEMBERS = Number(values.members);
const SENDS = Number(values.sends);
const CLIS = (values.cli?.length ? values.cli : ["src/main.ts"]).map((p) => resolve(p));

const root = mkdtempSync(join(tmpdir(), "cm-probe-lookup-"));
const flags = Object.fromEntries(LOAD_FLAGS.flatMap((f, i) => (i % 2 === 0 ? [[f.slice(2).replace(/-(.)/g, (_, c: string) => c.toUpperCase()), Number(LOAD_FLAGS[i + 1])]] : [])));
const config = loadBrokerConfig({ flags: { port: 0, dataDir: join(root, "data"), synchronous: "normal", ...flags } as never, env: {} });
const store = await openSqliteStore({ dataDir: join(root, "data"), synchronous: config.synchronous, checkpoints: "background" });
const broker = await createBroker({ config, store, log: jsonLog("error", () => {}), defaultMetrics: false });

// What the broker does for the CLI: time in each handler, and bytes and time of each frame written.
const seen = { bytes: 0, writeMs: 0, handlerMs: 0, requests: new Map<string, number>(), ms: new Map<string, number>() };
for (const [type, handler] of Object.entries(HANDLERS) as [keyof typeof HANDLERS, (...a: unknown[]) => Promise<unknown>][]) {
  (HANDLERS as Record<string, unknown>)[type] = async (...a: unknown[]) => {
    const t = performance.now();
    try {
      return await handler(...a);
    } finally {
      const ms = performance.now() - t;
      seen.handlerMs += ms;
      seen.requests.set(type, (seen.requests.get(type) ?? 0) + 1);
      seen.ms.set(type, (seen.ms.get(type) ?? 0) + ms);
    }
  };
}
// Conn.send is JSON.stringify and sendRaw: both counted here, the text made once.
const sendRaw = Conn.prototype.sendRaw;
const written = (conn: Conn, text: string, t: number) => {
  const r = sendRaw.call(conn, text);
  seen.writeMs += performance.now() - t;
  seen.bytes += Buffer.byteLength(text);
  return r;
};
Conn.prototype.send = function (this: Conn, frame: unknown) {
  const t = performance.now();
  return written(this, JSON.stringify(frame), t);
};
Conn.prototype.sendRaw = function (this: Conn, text: string) {
  return written(this, text, performance.now());
};

async function cli(main: string, dir: string, args: string[]) {
  const p = Bun.spawn([process.execPath, "run", main, ...args], { env: { ...process.env, CLAUDEMESH_CONFIG_DIR: dir, CI: "1" }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`claudemesh ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

/** `m` sends the owner a direct message, over a connection of its own closed after. */
async function dmFrom(m: { meshId: string; memberId: string; keys: { publicKey: string; secretKey: string } }, ownerPubkey: string, body: string) {
  const client = new BrokerClient({ url: broker.url.replace(/^http/, "ws") + "/ws", credentials: { kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, where: { sessionId: `probe-${body}`, pid: process.pid, cwd: "/tmp", hostname: "probe" } });
  await client.connect();
  const { publicKey, secretKey } = m.keys;
  await new MeshSession({ meshId: m.meshId, publicKey, secretKey, memberPubkey: publicKey, memberSecretKey: secretKey, ownerPubkey }, []).send(client, ownerPubkey, body);
  client.close();
}

try {
  const dir = join(root, "owner");
  await cli(CLIS[0]!, dir, ["new", "Probe", "--broker", broker.url, "--display-name", "owner", "--json"]);
  const e = loadConfig(dir).meshes[0]!;
  const t0 = performance.now();
  const members = await addMembers(broker.url, broker.url.replace(/^http/, "ws") + "/ws", { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey } }, MEMBERS);
  console.log(`${MEMBERS} members enrolled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const target = `peer${Math.floor(MEMBERS / 2)}`;
  for (const main of CLIS) {
    const runs: { bytes: number; handlerMs: number; writeMs: number; cpuMs: number; wallMs: number }[] = [];
    let requests = "";
    for (let i = 0; i < SENDS; i++) {
      if (values.receive) await dmFrom(members[Math.floor(MEMBERS / 2)]!, e.publicKey, `probe ${i}`);
      Object.assign(seen, { bytes: 0, writeMs: 0, handlerMs: 0, requests: new Map(), ms: new Map() });
      const cpu = process.cpuUsage();
      const t = performance.now();
      if (values.receive) await cli(main, dir, ["inbox"]);
      else await cli(main, dir, ["send", target, `probe ${i}`]);
      const used = process.cpuUsage(cpu);
      runs.push({ bytes: seen.bytes, handlerMs: seen.handlerMs, writeMs: seen.writeMs, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - t });
      if (process.env.PROBE_VERBOSE) console.log(`    run ${i}: ${[...seen.ms].map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ")}, cpu ${((used.user + used.system) / 1000).toFixed(0)} ms`);
      requests = [...seen.requests].map(([k, v]) => `${k}×${v} ${seen.ms.get(k)!.toFixed(1)} ms`).join(", ");
    }
    const med = (k: keyof (typeof runs)[number]) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    console.log(`${main}\n  requests: ${requests}\n  median of ${SENDS}: ${(med("bytes") / 1024).toFixed(1)} KiB to the CLI, handlers ${med("handlerMs").toFixed(1)} ms, frames written ${med("writeMs").toFixed(1)} ms, broker CPU ${med("cpuMs").toFixed(0)} ms, ${values.receive ? "inbox" : "send"} wall ${med("wallMs").toFixed(0)} ms`);
  }
} finally {
  await broker.stop();
  rmSync(root, { recursive: true, force: true });
}
