// Private files (src/client/local/files.ts): claudemesh's own directories are made 0700, but a file
// the user names (a backup) is written 0600 with its directory left exactly as it was, so that
// `claudemesh backup /tmp/x` cannot take the sticky bit and the world's access off /tmp.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, rmSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir, LocalFileError, writePrivateFile, writeUserFile } from "../../src/client/local/files.ts";
import { appendMessages, readMessages } from "../../src/client/local/message-log.ts";
import { loadReplayGuard, saveReplayGuard } from "../../src/client/local/replay-memory.ts";
import { openSessionMemory } from "../../src/client/local/session-memory.ts";
import type { Delivered } from "../../src/client/mesh-session.ts";
import { afterFailure, pendingEnrolment } from "../../src/client/local/pending-enrolments.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { scratchDir } from "../preload.ts";

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

/** A directory like /tmp: world-writable with the sticky bit. */
function sharedDir(): string {
  const dir = join(scratchDir("cm-files-"), "shared");
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

describe("writeUserFile", () => {
  test("writes 0600 and leaves a shared (1777) directory as it was", () => {
    const dir = sharedDir();
    writeUserFile(join(dir, "mesh.cmbk"), "sealed");
    expect({ dir: mode(dir), file: mode(join(dir, "mesh.cmbk")), text: readFileSync(join(dir, "mesh.cmbk"), "utf8") }).toEqual({ dir: "1777", file: "600", text: "sealed" });
    expect(readdirSync(dir)).toEqual(["mesh.cmbk"]); // no temp file left
  });

  test("leaves an ordinary 0755 directory 0755; creates missing parents 0700", () => {
    const root = scratchDir("cm-files-");
    chmodSync(root, 0o755);
    writeUserFile(join(root, "new", "deeper", "b.cmbk"), new Uint8Array([1, 2, 3]));
    expect({ root: mode(root), made: mode(join(root, "new")), file: mode(join(root, "new", "deeper", "b.cmbk")) }).toEqual({ root: "755", made: "700", file: "600" });
  });

  test("replaces an existing wider file with a 0600 one, and writes through a symlink of this user's", () => {
    const dir = sharedDir();
    const file = join(dir, "old.cmbk");
    writeFileSync(file, "old");
    chmodSync(file, 0o644);
    expect(writeUserFile(file, "new")).toBe(file);
    expect({ mode: mode(file), text: readFileSync(file, "utf8") }).toEqual({ mode: "600", text: "new" });
    const target = join(scratchDir("cm-files-"), "real");
    writeFileSync(target, "old backup");
    const link = join(dir, "link.cmbk");
    symlinkSync(target, link);
    expect(writeUserFile(link, "backup")).toBe(target);
    expect({ target: readFileSync(target, "utf8"), mode: mode(target), link: lstatSync(link).isSymbolicLink() }).toEqual({ target: "backup", mode: "600", link: true });
  });

  test("refuses a FIFO, and a link to one, leaving it a FIFO", () => {
    const dir = scratchDir("cm-files-");
    const fifo = join(dir, "pipe");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    symlinkSync(fifo, join(dir, "link"));
    for (const p of [fifo, join(dir, "link")]) expect(() => writeUserFile(p, "x")).toThrow(new LocalFileError(`${p} is a FIFO (named pipe); only a regular file is replaced. Nothing was written.`));
    expect({ fifo: lstatSync(fifo).isFIFO(), files: readdirSync(dir).sort() }).toEqual({ fifo: true, files: ["link", "pipe"] });
  });

  // In a shared directory another user could plant a link to a file of ours: never followed.
  test.if(process.getuid?.() === 0)("refuses a link another user owns (as root: the planted-link case)", () => {
    const dir = sharedDir();
    const victim = join(scratchDir("cm-files-"), "victim");
    writeFileSync(victim, "untouched");
    const link = join(dir, "planted.cmbk");
    symlinkSync(victim, link);
    lchownSync(link, 65534, 65534);
    expect(() => writeUserFile(link, "backup")).toThrow(new LocalFileError(`${link} is a link owned by another user; only a regular file is replaced. Nothing was written.`));
    expect(readFileSync(victim, "utf8")).toBe("untouched");
  });

  test("is 0600 under a permissive umask", () => {
    const old = process.umask(0);
    try {
      const dir = sharedDir();
      writeUserFile(join(dir, "u.cmbk"), "x");
      expect(mode(join(dir, "u.cmbk"))).toBe("600");
    } finally {
      process.umask(old);
    }
  });
});

describe("claudemesh's own directories", () => {
  test("writePrivateFile makes its own directory 0700", () => {
    const dir = join(scratchDir("cm-files-"), "config");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writePrivateFile(join(dir, "config.json"), "{}");
    expect({ dir: mode(dir), file: mode(join(dir, "config.json")) }).toEqual({ dir: "700", file: "600" });
  });

  test("a shared (sticky) directory is refused, not changed", () => {
    const dir = sharedDir();
    expect(() => ensurePrivateDir(dir)).toThrow(LocalFileError);
    expect(() => writePrivateFile(join(dir, "config.json"), "{}")).toThrow(/shared directory/);
    expect({ dir: mode(dir), written: existsSync(join(dir, "config.json")) }).toEqual({ dir: "1777", written: false });
  });
});

describe("the message log and the replay memory", () => {
  const delivered = (body: string) => ({ messageId: `id-${body}`, meshId: "mesh-log-1", kind: "direct", from: { name: "bob", pubkey: "b".repeat(64), memberPubkey: "b".repeat(64), memberId: "m-bob" }, to: "a".repeat(64), priority: "next", createdAt: 1, body, clientMessageId: `cm-${body}`, replyTo: null, ask: false }) as unknown as Delivered;

  test("a log others can read or write is neither appended to nor read, and the error gives the chmod", () => {
    const dir = scratchDir("cm-log-");
    appendMessages(dir, "mesh-log-1", [delivered("first")]);
    const log = join(dir, "messages", "mesh-log-1.jsonl");
    expect(mode(log)).toBe("600");
    chmodSync(log, 0o664); // a restore or an editor left it group-writable: others could add "history"
    let err: unknown;
    try {
      appendMessages(dir, "mesh-log-1", [delivered("second")]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LocalFileError);
    expect({ message: (err as LocalFileError).message, fix: (err as LocalFileError).fix }).toEqual({ message: expect.stringContaining("it holds the messages you read"), fix: `chmod 600 ${log}` });
    expect(() => readMessages(dir, "mesh-log-1", 10)).toThrow(LocalFileError);
    expect(readFileSync(log, "utf8").split("\n").filter(Boolean).length).toBe(1);
    chmodSync(log, 0o600);
    expect(readMessages(dir, "mesh-log-1", 10).map((m) => m.body)).toEqual(["first"]);
  });

  test("the log keeps its newest messages within its byte bound, so inbox --all and reply read a bounded file", () => {
    const dir = scratchDir("cm-log-bound-");
    const maxBytes = 64 * 1024;
    const n = (m: Delivered) => Number(/^m(\d+)-/.exec(m.body)![1]);
    for (let i = 0; i < 200; i++) appendMessages(dir, "mesh-log-1", [delivered(`m${i}-${"x".repeat(1000)}`)], maxBytes);
    const log = join(dir, "messages", "mesh-log-1.jsonl");
    const kept = readMessages(dir, "mesh-log-1", 1000).map(n);
    // The newest, in order, with none missing between them; about half the bound's worth at least
    // (a line is ~1,300 bytes).
    const line = statSync(log).size / kept.length;
    expect({ newest: kept.at(-1), inOrder: kept.every((k, i) => k === kept[0]! + i), halfFull: kept.length >= Math.floor(maxBytes / 2 / line) - 1 }).toEqual({ newest: 199, inOrder: true, halfFull: true });
    expect({ size: statSync(log).size <= maxBytes, mode: mode(log), files: readdirSync(join(dir, "messages")) }).toEqual({ size: true, mode: "600", files: ["mesh-log-1.jsonl"] });
    // One message longer than half the bound: the cut keeps it alone.
    appendMessages(dir, "mesh-log-1", [delivered(`m200-${"y".repeat(maxBytes)}`)], maxBytes);
    expect(readMessages(dir, "mesh-log-1", 1000).map(n)).toEqual([200]);
  });

  test("a new session's replay memory starts with what the CLI and the other sessions read here", () => {
    const dir = scratchDir("cm-seed-");
    const pair = (n: number) => ["c".repeat(64), `cm-0000000${n}`] as const;
    const cli = loadReplayGuard(dir, "mesh-log-1");
    cli.check(...pair(1));
    saveReplayGuard(dir, cli);
    /** A session of `mesh` that reads pair `n` and ends, as the MCP server saves and shares. */
    const session = (mesh: string, scope: string, n: number) => {
      const s = openSessionMemory(dir, mesh, scope);
      s.guard.check(...pair(n));
      s.save({});
      s.shareNow((err) => { throw err; });
    };
    session("mesh-log-1", "aaaaaaaaaaaaaaaa", 2);
    session("mesh-log-2", "bbbbbbbbbbbbbbbb", 3); // another mesh's: not read
    // A broker replaying what was read here to a new Claude Code session finds it remembered.
    const fresh = openSessionMemory(dir, "mesh-log-1", "cccccccccccccccc").guard;
    expect([fresh.has(...pair(1)), fresh.has(...pair(2)), fresh.has(...pair(3))]).toEqual([true, true, false]);
    // A session with a memory of its own is seeded as it was when new, not with what was read
    // since (what the CLI reads later stays the CLI's), and the CLI's is never seeded.
    cli.check(...pair(4));
    saveReplayGuard(dir, cli);
    const resumed = openSessionMemory(dir, "mesh-log-1", "aaaaaaaaaaaaaaaa").guard;
    expect([resumed.has(...pair(1)), resumed.has(...pair(2)), resumed.has(...pair(4))]).toEqual([true, true, false]);
    rmSync(join(dir, "seen", "mesh-log-1.json"));
    expect(loadReplayGuard(dir, "mesh-log-1").has(...pair(2))).toBe(false);
  });

  test("a damaged replay memory is moved aside and reported, and a new one starts", () => {
    const dir = scratchDir("cm-seen-");
    const guard = loadReplayGuard(dir, "mesh-log-1");
    guard.check("b".repeat(64), "cm-00000001");
    saveReplayGuard(dir, guard);
    expect(loadReplayGuard(dir, "mesh-log-1").has("b".repeat(64), "cm-00000001")).toBe(true);
    const seen = join(dir, "seen", "mesh-log-1.json");
    writeFileSync(seen, "{ half a file", { mode: 0o600 });
    const notes: string[] = [];
    const fresh = loadReplayGuard(dir, "mesh-log-1", (n) => notes.push(n));
    expect(fresh.has("b".repeat(64), "cm-00000001")).toBe(false);
    expect(notes).toEqual([expect.stringContaining(`The replay memory ${seen} was damaged`)]);
    expect(existsSync(seen)).toBe(false);
    // The CLI's save added its pair to the machine's memory too (new sessions start with it).
    expect(readdirSync(join(dir, "seen")).map((f) => f.replace(/\d+$/, "N")).sort()).toEqual(["mesh-log-1.json.damaged-N", "mesh-log-1.machine.json"]);
  });
});

describe("pending enrolments after a failure", () => {
  const request = "new http://broker team";
  const pending = (dir: string) => (existsSync(join(dir, "pending")) ? readdirSync(join(dir, "pending")) : []);

  test("no answer keeps the key; a refusal forgets it; a refusal for now keeps a key an earlier attempt may have used", () => {
    const dir = scratchDir("cm-pending-");
    const first = pendingEnrolment(dir, request);
    expect(first.fresh).toBe(true);
    const lost = afterFailure(dir, request, first, new MeshError("timeout")) as MeshError;
    expect({ kept: pending(dir).length, message: lost.message }).toEqual({ kept: 1, message: expect.stringContaining("It may have been carried out all the same") });
    const again = pendingEnrolment(dir, request);
    expect({ fresh: again.fresh, same: again.keys.publicKey === first.keys.publicKey }).toEqual({ fresh: false, same: true });
    // Throttled now, after an attempt whose answer was lost: that attempt may have made the mesh.
    const later = afterFailure(dir, request, again, new MeshError("rate_limited", "Too many meshes created from this address; wait a minute and try again.")) as MeshError;
    expect({ kept: pending(dir).length, code: later.code, message: later.message }).toEqual({ kept: 1, code: "rate_limited", message: expect.stringContaining("An earlier attempt of this command may have been carried out: in a while, run the same command again") });
    // A refusal is final: a carried-out enrolment asked again gets its answer, never a refusal.
    expect((afterFailure(dir, request, again, new MeshError("conflict", "slug taken")) as MeshError).code).toBe("conflict");
    expect(pending(dir)).toEqual([]);
    // Throttled on a first attempt: nothing was made with that key.
    const fresh = pendingEnrolment(dir, request);
    afterFailure(dir, request, fresh, new MeshError("rate_limited"));
    expect(pending(dir)).toEqual([]);
  });
});
