// Reliability plan T6, on-disk corruption: copies of a populated data directory (three meshes,
// members, queued messages, audit chains) are damaged (random bytes of the .db flipped, bytes
// inside an audit row flipped, the -wal truncated, the -shm deleted) and `claudemesh serve` is
// started on each as a subprocess. Must hold, every trial: the start either refuses (a non-zero
// exit, stderr one paragraph "claudemesh serve: …" with at most a "fix:" line, no stack trace, no
// hang), or it starts and serves history that is right, as far as anything can tell:
// - SQLite's quick_check passes on the database it serves;
// - the audit chain every mesh's owner fetches verifies and is the chain written before the damage,
//   or, after the -wal was cut, its first entries (the writes in the lost part of the WAL are
//   gone, as after a power loss before they were synced: nothing can tell those apart).
// - every mesh's owner is served: a flip that turns an owner's key, id or removal into another
//   valid value, or hides a mesh or a key from its index, is refused at start (each chain is
//   replayed against the membership tables, whose indexes are checked: docs/decisions.md, session
//   18). Before that check, such an owner was refused as not a member, the trials' one allowance.
// What no check sees (a flipped byte inside a row the audit chain does not determine, e.g. in a
// display name; SQLite keeps no page checksums) is not asserted here.
// 30 trials in CI; CHAOS_LONG=1 runs 200 (the plan's number). FUZZ_SEED replays a run.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyChain, type ChainEntry } from "../../src/protocol/audit-chain.ts";
import { allAuditEntries } from "../../src/client/audit-log.ts";
import { addMember, connect, createTestMesh, sendText, type TestMember } from "../helpers/mesh.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";
import { startBroker } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { editLeaf } from "../helpers/db-pages.ts";

const TRIALS = process.env.CHAOS_LONG === "1" ? 200 : 30;
const SEED = Number(process.env.FUZZ_SEED) || undefined;
const DB = "claudemesh.db";
const LISTENING = /"msg":"broker listening","url":"([^"]+)"/;
/** The client's words for the hello refused because the mesh's record cannot be found. */
const MESH_RECORD_LOST = "internal: Broker closed the connection (1008 internal). The broker knows your key but cannot find your mesh's record: its database is damaged. Tell its operator (claudemesh serve --check).";

type Image = { dir: string; chains: Map<string, ChainEntry[]> };

/** Work that writes every kind of row: a member joins each mesh, a topic, grant changes (audit
 *  entries all), and messages queued for the member, who is not connected. */
async function activity(url: string, owners: TestMember[], round: number): Promise<void> {
  for (const owner of owners) {
    const member = await addMember(url, owner, `member-${round}`);
    const peer = await connect(url, owner, { receive: "pull" });
    try {
      await peer.client.request("topic_create", { name: `topic-${round}` });
      await peer.client.request("grant_set", { peer: member.keys.publicKey, caps: ["dm"] });
      await peer.client.request("grant_set", { peer: member.keys.publicKey, caps: ["dm", "topic"] });
      for (let i = 0; i < 5; i++) await sendText(peer, member.keys.publicKey, `round ${round} message ${i} `.repeat(20));
    } finally {
      peer.close();
    }
  }
}

/** Each mesh's audit chain as its owner is served it from `url`: entries, or the error. */
async function servedChains(url: string, owners: TestMember[]): Promise<Map<string, ChainEntry[] | string>> {
  const out = new Map<string, ChainEntry[] | string>();
  for (const owner of owners) {
    try {
      const peer = await connect(url, owner, { receive: "pull" }, { reconnect: false, requestTimeoutMs: 5000 });
      try {
        out.set(owner.meshId, await allAuditEntries(peer.client));
      } finally {
        peer.close();
      }
    } catch (err) {
      out.set(owner.meshId, `${(err as { code?: string }).code ?? "error"}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Two images of one data directory: `clean`, a broker stopped with SIGTERM (its WAL checkpointed
 *  away); `crash`, the same broker after more work, killed with SIGKILL (frames left in the -wal,
 *  the -shm beside it). Each with the chains its broker served before it stopped. */
async function images(): Promise<{ owners: TestMember[]; clean: Image; crash: Image }> {
  const live = tempDir("cm-corrupt-live-");
  const owners: TestMember[] = [];
  const snapshot = async (url: string, name: string): Promise<Image> => {
    const chains = new Map([...(await servedChains(url, owners))].map(([k, v]) => [k, v as ChainEntry[]]));
    return { dir: join(tempDir(`cm-corrupt-${name}-`), "data"), chains };
  };
  let clean: Image;
  {
    await using b = await spawnBroker(live);
    for (let i = 0; i < 3; i++) owners.push((await createTestMesh(b.url, `owner-${i}`)).owner);
    await activity(b.url, owners, 1);
    clean = await snapshot(b.url, "clean");
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
  }
  cpSync(live, clean.dir, { recursive: true });
  await using b = await spawnBroker(live);
  await activity(b.url, owners, 2);
  const crash = await snapshot(b.url, "crash");
  b.proc.kill("SIGKILL");
  await b.proc.exited;
  cpSync(live, crash.dir, { recursive: true });
  return { owners, clean, crash };
}

type Damage = { image: "clean" | "crash"; what: string; apply(dir: string): void };

/** Flips one byte at `offset` of `file` (XOR with a non-zero mask). */
function flip(file: string, offset: number, mask: number): void {
  const bytes = readFileSync(file);
  bytes[offset % bytes.length]! ^= mask;
  writeFileSync(file, bytes);
}

/** Where the text of each audit hash sits in the clean image's .db: inside audit rows. */
function auditRowOffsets(img: Image): number[] {
  const bytes = readFileSync(join(img.dir, DB));
  const hashes = [...img.chains.values()].flat().map((e) => e.hash);
  return hashes.map((h) => bytes.indexOf(h)).filter((at) => at >= 0);
}

function damages(clean: Image, crash: Image): fc.Arbitrary<Damage> {
  const rows = auditRowOffsets(clean);
  const walBytes = statSync(join(crash.dir, `${DB}-wal`)).size;
  // A crash image: frames in the -wal (the clean stop leaves none).
  expect(walBytes).toBeGreaterThan(32);
  const mask = fc.integer({ min: 1, max: 255 });
  return fc.oneof(
    fc.tuple(fc.constantFrom<"clean" | "crash">("clean", "crash"), fc.array(fc.tuple(fc.nat(), mask), { minLength: 1, maxLength: 8 })).map(([image, flips]) => ({
      image,
      what: `${flips.length} random bytes of the ${image} .db flipped (${flips.map(([o, m]) => `${o}^${m}`).join(" ")})`,
      apply: (dir: string) => flips.forEach(([o, m]) => flip(join(dir, DB), o, m)),
    })),
    // A row's bytes: from 120 before an entry's hash (its payload, time, type) to the hash's end.
    fc.tuple(fc.constantFrom(...rows), fc.integer({ min: -120, max: 63 }), mask).map(([at, d, m]) => ({
      image: "clean" as const,
      what: `a byte of an audit row flipped (${at + d}^${m})`,
      apply: (dir: string) => flip(join(dir, DB), at + d, m),
    })),
    fc.tuple(fc.integer({ min: 0, max: walBytes - 1 }), fc.boolean()).map(([size, shm]) => ({
      image: "crash" as const,
      what: `the -wal cut to ${size} of ${walBytes} bytes${shm ? ", the -shm deleted" : ""}`,
      apply: (dir: string) => {
        truncateSync(join(dir, `${DB}-wal`), size);
        if (shm) rmSync(join(dir, `${DB}-shm`));
      },
    })),
    fc.constant({ image: "crash" as const, what: "the -shm deleted", apply: (dir: string) => rmSync(join(dir, `${DB}-shm`)) }),
  );
}

/** A data directory with one mesh, its broker stopped. */
async function oneMesh(prefix: string): Promise<string> {
  const dir = tempDir(prefix);
  await using b = await startBroker({}, { dataDir: dir });
  await createTestMesh(b.url);
  return dir;
}

/** The refusal's words: stderr without serve's JSON log lines. */
const refusalText = (stderr: string) => stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{")).join("\n");

/** Starts serve on a copy of `image` with `damage` done to it, and checks what it does: one
 *  paragraph and a non-zero exit, or right history served. Returns which, for the tally. */
async function trial(dir: string, image: Image, owners: TestMember[], damage: Damage | null): Promise<string> {
  cpSync(image.dir, dir, { recursive: true });
  damage?.apply(dir);
  const what = damage?.what ?? "untouched";
  await using serve = serveProcess(["--port", "0", "--data-dir", dir], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  const url = await serve.waitFor(LISTENING).then(([, u]) => u!, () => null);
  if (url === null) {
    // Ended, or still starting after waitFor's 15 s: a hang.
    expect({ what, ended: serve.proc.exitCode !== null }).toEqual({ what, ended: true });
    await serve.ended;
    const words = refusalText(serve.stderr());
    expect({ what, code: serve.proc.exitCode === 0 ? 0 : "non-zero", words }).toEqual({ what, code: "non-zero", words: expect.stringMatching(/^claudemesh serve: [^\n]+(\n {2}fix: [^\n]+)?$/) });
    const by = /disagrees with/.test(words) ? "tables vs chain" : /audit chain/.test(words) ? "audit chain" : /integrity_check/.test(words) ? "index check" : /quick_check/.test(words) ? "quick_check" : "cannot open";
    return `refused: ${by}`;
  }
  const db = new Database(join(dir, DB), { readonly: true });
  const integrity = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all().map((r) => r.quick_check).join("; ");
  db.close();
  const served = await servedChains(url, owners);
  expect({ what, integrity, running: serve.proc.exitCode }).toEqual({ what, integrity: "ok", running: null });
  for (const [meshId, written] of image.chains) {
    const got = served.get(meshId)!;
    // serve's log beside a refusal: what went wrong inside the broker.
    const log = typeof got === "string" ? serve.stderr().split("\n").filter((l) => !/"level":"(debug)"/.test(l)).slice(-6) : [];
    expect({ what, meshId, served: typeof got === "string" ? got : "entries", log }).toEqual({ what, meshId, served: "entries", log: [] });
    const chain = got as ChainEntry[];
    // Only a cut WAL may lose writes, and only the newest: a prefix of what was written.
    const expected = what.startsWith("the -wal cut") ? written.slice(0, chain.length) : written;
    expect({ what, meshId, valid: verifyChain(chain).valid, chain }).toEqual({ what, meshId, valid: true, chain: expected });
  }
  return `started: ${what.replace(/ \(.*|\d+ | to \d+ of \d+ bytes/g, "")}`;
}

describe("serve on a damaged data directory", () => {
  test("refuses with one clear paragraph, or serves the history that was written", async () => {
    const { owners, clean, crash } = await images();
    const root = tempDir("cm-corrupt-trials-");
    // Both images as they are: served in full.
    expect(await trial(join(root, "clean"), clean, owners, null)).toBe("started: untouched");
    expect(await trial(join(root, "crash"), crash, owners, null)).toBe("started: untouched");
    const tally: Record<string, number> = {};
    let n = 0;
    await fc.assert(
      fc.asyncProperty(damages(clean, crash), async (damage) => {
        const outcome = await trial(join(root, `t${n++}`), damage.image === "clean" ? clean : crash, owners, damage);
        tally[outcome] = (tally[outcome] ?? 0) + 1;
      }),
      { numRuns: TRIALS, seed: SEED, endOnFailure: true },
    );
    if (process.env.CHAOS_TALLY) console.log(JSON.stringify(tally, null, 1));
    expect(n).toBe(TRIALS);
  }, 600_000);
});

describe("serve verifies every audit chain before it listens", () => {
  test("an audit row changed inside a sound page: serve and serve --check name the mesh and the entry, and say to restore a backup", async () => {
    // `serve --check` reports the chains it verified; both refuse once one does not verify.
    // quick_check cannot see it: the page is sound, only a value in it changed.
    const dir = tempDir("cm-corrupt-edited-");
    let meshId: string;
    {
      await using b = await startBroker({}, { dataDir: dir });
      const { owner } = await createTestMesh(b.url);
      await addMember(b.url, owner, "bob");
      meshId = owner.meshId;
    }
    const cfg = tempDir("cm-corrupt-cfg-");
    const before = await cli(cfg, ["serve", "--check", "--data-dir", dir, "--port", "0"], { timeoutMs: 15_000 });
    expect({ code: before.code, chains: before.stdout.split("\n").at(-3) }).toEqual({ code: 0, chains: "audit chains verified: 1 mesh, 4 entries" });
    const db = new Database(join(dir, DB));
    db.run("UPDATE audit_log SET payload = replace(payload, '\"bob\"', '\"eve\"') WHERE mesh_id = ? AND event_type = 'member_joined'", [meshId]);
    const seq = db.query<{ seq: number }, [string]>("SELECT seq FROM audit_log WHERE mesh_id = ? AND payload LIKE '%\"eve\"%'").get(meshId)!.seq;
    expect(db.query("PRAGMA quick_check").get()).toEqual({ quick_check: "ok" });
    db.close();
    const said = `the audit chain of mesh ${meshId} in ${dir} does not verify from entry ${seq} on (hash does not match the entry's contents): the database is damaged or was changed outside the broker, and members would be served that history; restore a backup (claudemesh admin restore FILE --force --data-dir ${dir})`;
    const start = await cli(cfg, ["serve", "--data-dir", dir, "--port", "0"], { timeoutMs: 15_000 });
    expect({ code: start.code, words: refusalText(start.stderr) }).toEqual({ code: 65, words: `claudemesh serve: cannot start: ${said}` });
    const check = await cli(cfg, ["serve", "--check", "--data-dir", dir, "--port", "0"], { timeoutMs: 15_000 });
    expect({ code: check.code, stdout: check.stdout, stderr: check.stderr }).toEqual({ code: 65, stdout: "", stderr: `claudemesh serve: ${said}\n` });
  }, 30_000);

  test("a mesh record the store cannot find for a key it knows: the hello is refused at once, saying so, and logged", async () => {
    // What a flipped byte in the meshes table's index did in the trials above: the hello waited,
    // silently, for its 10 s deadline.
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    b.ctx.store.getMesh = async () => null;
    const refused = await connect(b.url, owner, { receive: "pull" }, { reconnect: false, requestTimeoutMs: 5000 }).then(() => null, (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
    expect(refused).toBe(MESH_RECORD_LOST);
    expect(b.logs.some((l) => l.includes('"level":"error"') && l.includes("the mesh of a known key is missing"))).toBe(true);
  });

  test("a table's schema entry damaged: one line, SQLite's message with its CREATE statement's newlines folded", async () => {
    // Found by the trials: a flip inside sqlite_schema's text of a CREATE TABLE.
    const dir = await oneMesh("cm-corrupt-schema-");
    // "group_name TEXT" becomes "group_name [EXT".
    editLeaf(join(dir, DB), "sqlite_schema", "group_name TEXT", "group_name ".length, () => "[".charCodeAt(0));
    const start = await cli(tempDir("cm-corrupt-cfg-"), ["serve", "--data-dir", dir, "--port", "0"], { timeoutMs: 15_000 });
    expect({ code: start.code, words: refusalText(start.stderr) }).toEqual({
      code: 65,
      words: `claudemesh serve: cannot start: ${join(dir, DB)} is damaged or not a claudemesh database (malformed database schema (group_members) - unrecognized token: "[EXT NOT NULL, member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE, PRIMARY KEY (mesh_id, group_name, member_id) ) STRICT"): restore a backup (claudemesh admin restore FILE --force --data-dir ${dir})`,
    });
  }, 30_000);

  test("audit chains that cannot be read at all: the same refusal, naming what failed", async () => {
    const dir = await oneMesh("cm-corrupt-unreadable-");
    const db = new Database(join(dir, DB));
    db.run("DROP TABLE audit_log");
    db.close();
    const start = await cli(tempDir("cm-corrupt-cfg-"), ["serve", "--data-dir", dir, "--port", "0"], { timeoutMs: 15_000 });
    expect({ code: start.code, words: refusalText(start.stderr) }).toEqual({
      code: 65,
      words: `claudemesh serve: cannot start: the database in ${dir} is damaged (reading its audit chains: no such table: audit_log); restore a backup (claudemesh admin restore FILE --force --data-dir ${dir})`,
    });
  }, 30_000);
});
