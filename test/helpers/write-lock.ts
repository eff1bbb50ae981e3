// Another process holding a broker database's write lock, as an operator's `sqlite3` shell does
// after `BEGIN IMMEDIATE`: a `bun -e` child with its own connection, so the lock is a real
// file lock between processes and the broker's event loop is the only thing under test.
import { expect } from "bun:test";

const HOLDER = `
import { Database } from "bun:sqlite";
const db = new Database(process.argv[1], { create: false });
db.run("PRAGMA busy_timeout = 5000");
db.run("BEGIN IMMEDIATE");
db.run("INSERT OR REPLACE INTO broker_meta (key, value) VALUES ('held_by_test', 'x')");
console.log("locked");
for await (const _ of console) break;
db.run("COMMIT");
db.close();
console.log("released");
`;

export type WriteLock = {
  /** Commits the holder's transaction and resolves once the lock is gone (the process exited). */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Resolves once the child holds the write lock of the database file at `dbPath`. */
export async function holdWriteLock(dbPath: string): Promise<WriteLock> {
  const proc = Bun.spawn([process.execPath, "-e", HOLDER, dbPath], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  const next = async (line: string) => {
    while (!out.includes(`${line}\n`)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the lock holder exited (${await proc.exited}) before "${line}": ${out}${await new Response(proc.stderr as ReadableStream).text()}`);
      out += new TextDecoder().decode(value);
    }
  };
  await next("locked");
  let released: Promise<void> | null = null;
  const release = () =>
    (released ??= (async () => {
      proc.stdin.write("release\n");
      await proc.stdin.end();
      await next("released");
      expect(await proc.exited).toBe(0);
    })());
  return {
    release,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) await release().catch(() => proc.kill("SIGKILL"));
    },
  };
}
