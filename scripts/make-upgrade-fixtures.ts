// Builds test/fixtures/upgrade/schema-<N>/ with the code that shipped schema N: for each schema
// version asked for (default: every one before the newest), the last commit before the next
// migration was added is checked out in a temporary detached worktree, and that commit's own
// `serve` and CLI build the mesh of scripts/upgrade-fixtures/scenario.ts. The broker is stopped
// with SIGTERM (its clean shutdown checkpoints the WAL), and its data directory and every member's
// config directory are copied into the fixture. Then today's `serve --check` migrates a copy, and
// the older commit's `serve` is started on that copy: what it said is recorded in manifest.json.
//
//   bun scripts/make-upgrade-fixtures.ts [schema …]     (from the repository root; needs git history)
//
// CI does not run this: the fixtures are committed. Re-run it when the scenario changes or a new
// schema version ships. The date does not matter: the test runs every process under libfaketime
// at the manifest's generatedAt plus a day, so the 365-day invites and messages never expire.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildMesh, MEMBER_NAMES } from "./upgrade-fixtures/scenario.ts";
import { cm, member, serve, serveOutcome } from "./upgrade-fixtures/run.ts";

const ROOT = resolve(import.meta.dir, "..");
const OUT = join(ROOT, "test/fixtures/upgrade");
const DB = "claudemesh.db";

const git = (...args: string[]) => {
  const r = Bun.spawnSync(["git", ...args], { cwd: ROOT, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
};

/** schema version → the last commit before the migration of the next version was added. */
function shippedSchemas(): Map<number, string> {
  // "@<commit>" then the files that commit added.
  const addedAt = new Map<number, string>();
  let commit = "";
  for (const line of git("log", "--diff-filter=A", "--format=@%H", "--name-only", "--", "migrations/").split("\n")) {
    if (line.startsWith("@")) commit = line.slice(1);
    const version = Number(/^migrations\/(\d+)_/.exec(line)?.[1]);
    if (Number.isInteger(version)) addedAt.set(version, commit);
  }
  const out = new Map<number, string>();
  for (const [v] of addedAt) {
    const next = addedAt.get(v + 1);
    if (next) out.set(v, git("rev-parse", `${next}^`));
  }
  return out;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The broker's data directory as the fixture keeps it: the database (the WAL must be empty after
 *  a clean stop) and whatever else the version left, minus its pid file and pre-migrate backups. */
function copyBrokerDir(from: string, to: string): void {
  const wal = join(from, `${DB}-wal`);
  if (existsSync(wal) && statSync(wal).size > 0) throw new Error(`${wal} is not empty after a clean stop: the WAL was not checkpointed`);
  for (const name of readdirSync(from)) {
    if (["claudemesh.pid", "backups", `${DB}-wal`, `${DB}-shm`].includes(name)) continue;
    cpSync(join(from, name), join(to, name), { recursive: true });
  }
}

async function makeFixture(schema: number, commit: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), `cm-upgrade-${schema}-`));
  const checkout = join(work, "checkout");
  git("worktree", "add", "--detach", checkout, commit);
  try {
    symlinkSync(join(ROOT, "node_modules"), join(checkout, "node_modules"));
    const migrations = readdirSync(join(checkout, "migrations")).map((f) => Number(f.slice(0, 4)));
    if (Math.max(...migrations) !== schema) throw new Error(`${commit} has migrations up to ${Math.max(...migrations)}, not ${schema}`);

    const data = join(work, "data");
    const broker = await serve(checkout, data, { CLAUDEMESH_MESSAGE_TTL: "365d" });
    let manifest;
    try {
      manifest = await buildMesh(checkout, work, broker);
    } finally {
      const stopped = await broker.stop();
      if (stopped.code !== 0) throw new Error(`serve did not stop cleanly (exit ${stopped.code}):\n${stopped.stderr}`);
    }

    const dir = join(OUT, `schema-${schema}`);
    rmSync(dir, { recursive: true, force: true });
    copyBrokerDir(data, join(dir, "broker"));
    for (const n of MEMBER_NAMES) cpSync(join(work, "members", n), join(dir, "members", n), { recursive: true });

    // The other direction: today's code migrates a copy; the older code is started on it.
    const migrated = join(work, "migrated");
    cpSync(join(dir, "broker"), migrated, { recursive: true });
    const check = await serveOutcome(ROOT, migrated, ["--check"]);
    if (check.code !== 0) throw new Error(`today's serve --check on a copy of schema ${schema} failed (exit ${check.code}):\n${check.stderr}`);
    const before = sha256(join(migrated, DB));
    const older = await serveOutcome(checkout, migrated);
    const olderOnMigrated = { code: older.code, stderr: older.stderr.trim(), databaseUnchanged: sha256(join(migrated, DB)) === before };
    // Going back as docs/operations.md says: the older binary restores the pre-migrate backup
    // today's start wrote, and starts on it.
    const backup = readdirSync(join(migrated, "backups")).find((f) => f.startsWith(`pre-migrate-v${schema}-`));
    if (!backup) throw new Error(`today's serve --check wrote no pre-migrate-v${schema} backup in ${migrated}/backups`);
    const operator = member(work, "operator");
    const restored = await cm(checkout, operator, ["admin", "restore", join(migrated, "backups", backup), "--data-dir", migrated, "--force"], [0, 1, 2, 3, 4, 5, 6, 7, 65]);
    const restart = await serveOutcome(checkout, migrated);
    const olderRestoresBackup = { restoreCode: restored.code, restoreOutput: (restored.stdout + restored.stderr).trim().replaceAll(work, "<work>"), serveListened: restart.listened };

    const [date, subject] = git("log", "-1", "--format=%aI%n%s", commit).split("\n");
    const full = {
      schema,
      commit,
      commitDate: date,
      commitSubject: subject,
      generatedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 364 * 86_400_000).toISOString(),
      ...manifest,
      olderOnMigrated,
      olderRestoresBackup,
    };
    writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(full, null, 2)}\n`);
    console.log(`schema ${schema} from ${commit.slice(0, 7)} (${date}): ${dir}`);
  } finally {
    git("worktree", "remove", "--force", checkout);
    rmSync(work, { recursive: true, force: true });
  }
}

const schemas = shippedSchemas();
const wanted = process.argv.slice(2).map(Number);
for (const schema of wanted.length > 0 ? wanted : [...schemas.keys()].sort((a, b) => a - b)) {
  const commit = schemas.get(schema);
  if (!commit) throw new Error(`no shipped commit with schema ${schema} (known: ${[...schemas.keys()].join(", ")})`);
  await makeFixture(schema, commit);
}
