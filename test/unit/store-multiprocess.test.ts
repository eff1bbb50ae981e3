// Pins the guarantees that must hold across processes sharing one database file (a CLI
// maintenance command beside the broker, a restarted broker racing its predecessor): invite uses
// are never handed out twice and the audit chain does not fork. Queue claims are not among them:
// they live in the serving process's memory, and only one `serve` runs per data directory (its
// lock on claudemesh.lock; docs/decisions.md). Workers are real `bun` processes that open the store, report
// ready, and start together on "go".
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { verifyChain } from "../../src/protocol/audit-chain.ts";
import { invite, seedMesh, TempDirs } from "./store-fixtures.ts";
import { wholeChain } from "../helpers/audit-chain.ts";

const tmp = new TempDirs();
afterAll(() => tmp.cleanup());

const STORE = join(import.meta.dir, "../../src/store/sqlite/open-store.ts");

const WORKER = `
import { openSqliteStore } from ${JSON.stringify(STORE)};
const env = process.env;
const store = await openSqliteStore({ dataDir: env.DIR, synchronous: "normal" });
console.log("ready");
for await (const _ of console) break;
const out = [];
for (let i = 0; i < Number(env.ROUNDS); i++) {
  const id = crypto.randomUUID().replaceAll("-", "");
  const member = { id, pubkey: id + id, displayName: "w" };
  out.push(await store.claimInvite({ inviteId: env.TARGET, nowMs: Date.now(), member, claim: { timestamp: Date.now(), inviteSignature: "00".repeat(64) } }).then(() => "ok", (e) => e.code ?? String(e)));
}
store.close();
console.log(JSON.stringify(out));
`;

async function runWorkers(n: number, env: Record<string, string>): Promise<string[][]> {
  const procs = Array.from({ length: n }, () => Bun.spawn(["bun", "-e", WORKER], { env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
  const readers = procs.map((p) => p.stdout.pipeThrough(new TextDecoderStream()).getReader());
  const lines = procs.map(() => "");
  const readLine = async (i: number): Promise<string> => {
    while (!lines[i]!.includes("\n")) {
      const { value, done } = await readers[i]!.read();
      if (done) break;
      lines[i] += value;
    }
    const [line, ...rest] = lines[i]!.split("\n");
    lines[i] = rest.join("\n");
    return line!;
  };
  expect(await Promise.all(procs.map((_, i) => readLine(i)))).toEqual(procs.map(() => "ready"));
  for (const p of procs) {
    p.stdin.write("go\n");
    p.stdin.end();
  }
  const results = await Promise.all(procs.map((_, i) => readLine(i)));
  expect(await Promise.all(procs.map((p) => p.exited))).toEqual(procs.map(() => 0));
  return results.map((r) => JSON.parse(r) as string[]);
}

test("4 processes x 10 claims of a 5-use invite: exactly 5 succeed, chain intact", async () => {
  const dir = tmp.make();
  const store = await tmp.open(dir);
  const { mesh, owner } = await seedMesh(store);
  const inv = await invite(store, owner, { maxUses: 5 });
  const results = (await runWorkers(4, { DIR: dir, TARGET: inv.id, ROUNDS: "10" })).flat();
  // Counted by outcome, so that a failure names any other answer (one CI run saw 34 refusals).
  const outcomes = Object.fromEntries([...new Set(results)].map((r) => [r, results.filter((x) => x === r).length]));
  expect(outcomes).toEqual({ ok: 5, invite_exhausted: 35 });
  expect(await store.listMembers(mesh.id)).toHaveLength(6);
  expect(verifyChain(await wholeChain(store, mesh.id))).toMatchObject({ valid: true, entries: 12 });
}, 20_000);
