// claudemesh backup [file] / restore <file>: the whole local config (identities and mesh keys),
// encrypted with a passphrase: Argon2id (libsodium MODERATE cost or more, parameters and salt in
// the authenticated header) + XChaCha20-Poly1305. A wrong passphrase or a changed file writes nothing.
import { readFileSync } from "node:fs";
import { assertCanCreate, userFileTarget, writePrivateFile, writeUserFile } from "../../client/local/files.ts";
import { onFile, statIfAny } from "../../local-file/error.ts";
import { join, resolve as resolvePath } from "node:path";
import { BackupError, decryptBackup, encryptBackup } from "../../crypto/backup.ts";
import { configText, mergeMeshKeys, parseConfig, type LocalConfig, type MeshEntry } from "../../client/local/config-file.ts";
import { MeshError } from "../../protocol/errors.ts";
import { command } from "../context.ts";
import { UsageError } from "../output.ts";
import { getPassphrase } from "../passphrase.ts";

type Args = { file?: string; "passphrase-stdin"?: boolean; force?: boolean; json?: boolean };

function fromBackupError(err: unknown): never {
  if (err instanceof BackupError) {
    if (err.code === "passphrase_too_short") throw new UsageError(err.message);
    throw new MeshError(err.code === "wrong_passphrase_or_tampered" ? "unauthorized" : "invalid_argument", `${err.message}`);
  }
  throw err;
}

export async function backup(args: Args): Promise<void> {
  await command(args, async (ctx) => {
    const cfg = ctx.config();
    if (cfg.meshes.length === 0) throw new MeshError("not_found", "Nothing to back up: you have not joined any mesh.");
    const file = resolvePath(args.file ?? "claudemesh-backup.cmbk");
    // Checked before --force, and before the passphrase is asked for: it replaces a regular file
    // only. A rename would put a file in place of a device, FIFO or socket (or fail on a
    // directory) instead of writing into it; a link of the user's is written through.
    const ctxFile = { what: "the backup" };
    const target = userFileTarget(file, ctxFile);
    if (target.what === "a directory") throw new UsageError(`${file} is a directory; give the backup a file name, like ${join(file, "claudemesh-backup.cmbk")}.`);
    if (target.what !== null && target.what !== "file") throw new UsageError(`${target.via ? `${file} leads to ${target.path}, which` : file} is ${target.what}; a backup replaces only a regular file. Choose another name.`);
    // Refused by state (exit 5), as `admin backup` refuses an existing file: the command was right.
    if (target.what === "file" && !args.force) throw new MeshError("conflict", `${file} exists; choose another name or pass --force.`);
    assertCanCreate(target.path, ctxFile);
    const passphrase = await getPassphrase(Boolean(args["passphrase-stdin"]), true);
    const sealed = await ctx.out.wait("deriving the key (Argon2id)", encryptBackup(new TextEncoder().encode(JSON.stringify(cfg)), passphrase).catch(fromBackupError));
    // The user picks the path: write it 0600, leave its directory (maybe /tmp) as it is.
    const written = writeUserFile(target.path, sealed, ctxFile);
    const through = target.via ? ` (through the link ${target.via})` : "";
    ctx.out.result({ file: written, link: target.via, meshes: cfg.meshes.map((m) => m.slug), bytes: sealed.length }, () => `Backed up ${cfg.meshes.length} mesh identit${cfg.meshes.length === 1 ? "y" : "ies"} to ${written}${through}. Keep the passphrase: without it the file cannot be opened.`);
  });
}

/** Refuses to replace a config that holds meshes (restore without --force). */
function refuseReplacing(cfg: LocalConfig): void {
  if (cfg.meshes.length > 0) throw new MeshError("conflict", `You already have ${cfg.meshes.length} mesh(es) configured; pass --force to replace them with the backup (a copy of the current config is kept beside it).`);
}

/** Writes `cfg` beside config.json, as the copy a restore keeps of the config it replaces;
 *  returns its path. */
function keepAside(configDir: string, cfg: LocalConfig): string {
  const kept = join(configDir, `config.json.before-restore-${Date.now()}`);
  writePrivateFile(kept, configText(cfg), { what: "the copy of the claudemesh config" });
  return kept;
}

type KeptKeys = { slug: string; meshId: string; epochs: number[] };

/** The backup's config, with the mesh key epochs the config it replaces holds for the same mesh
 *  and the backup lacks added back (a backup older than a rotation): a key is the mesh's, whatever
 *  identity holds it, and an owner missing one can never be sent it. An epoch in both keeps the
 *  backup's key. */
function keepNewerKeys(cfg: LocalConfig, onDisk: LocalConfig): { cfg: LocalConfig; kept: KeptKeys[] } {
  const kept: KeptKeys[] = [];
  const meshes = cfg.meshes.map((r) => {
    const mine = onDisk.meshes.find((m) => m.meshId === r.meshId);
    const merged = mine && mergeMeshKeys(r.meshKeys, mine.meshKeys);
    if (!merged) return r;
    kept.push({ slug: r.slug, meshId: r.meshId, epochs: merged.map((k) => k.epoch).filter((e) => !r.meshKeys.some((k) => k.epoch === e)) });
    return { ...r, meshKeys: merged };
  });
  return { cfg: { ...cfg, meshes }, kept };
}

export async function restore(args: Args & { file: string }): Promise<void> {
  await command(args, async (ctx) => {
    const file = resolvePath(args.file);
    const ctxFile = { what: "the backup" };
    const found = statIfAny(file, ctxFile);
    if (!found) throw new MeshError("not_found", `No such file: ${file}. Give the path of a backup \`claudemesh backup\` wrote.`);
    if (found.isDirectory()) throw new UsageError(`${file} is a directory; give the path of a backup file \`claudemesh backup\` wrote (a .cmbk file).`);
    // Asked before the passphrase and the slow key derivation; asked again under the lock.
    if (!args.force) refuseReplacing(ctx.config());
    const sealed = new Uint8Array(onFile(file, "read", () => readFileSync(file), ctxFile));
    const passphrase = await getPassphrase(Boolean(args["passphrase-stdin"]), false);
    const plain = await ctx.out.wait("deriving the key (Argon2id)", decryptBackup(sealed, passphrase).catch(fromBackupError));
    const cfg = parseConfig(new TextDecoder().decode(plain), { name: `The config in the backup ${file}`, fix: null });
    // The config replaced may hold identities the backup lacks (an owner key is the only way to
    // manage its mesh): it is kept, and the meshes only it had are named; key epochs it holds for
    // a mesh the backup has are merged in (keepNewerKeys). Both come from the config
    // as it is under the lock, so a mesh another process saved meanwhile is not lost unnamed.
    const replaced = { meshes: [] as MeshEntry[], kept: null as string | null, keys: [] as KeptKeys[] };
    ctx.update((onDisk) => {
      if (!args.force) refuseReplacing(onDisk);
      replaced.meshes = onDisk.meshes;
      if (onDisk.meshes.length > 0) replaced.kept = keepAside(ctx.env.configDir, onDisk);
      const merged = keepNewerKeys(cfg, onDisk);
      replaced.keys = merged.kept;
      return merged.cfg;
    });
    const { kept, keys } = replaced;
    const dropped = replaced.meshes.filter((m) => !cfg.meshes.some((r) => r.meshId === m.meshId));
    const slugs = cfg.meshes.map((m) => m.slug);
    ctx.out.result({ restored: slugs, notInBackup: dropped.map((m) => ({ slug: m.slug, meshId: m.meshId, role: m.role })), keptKeys: keys, previousConfig: kept }, () =>
      [
        `Restored ${slugs.join(", ")} into ${ctx.env.configDir}.`,
        kept ? `The config it replaced is kept as ${kept}.` : "",
        dropped.length ? `Not in the backup, so no longer configured here: ${dropped.map((m) => `${m.slug} (${m.role})`).join(", ")}; their keys are only in ${kept}.` : "",
        keys.length ? `Kept the mesh key epochs this machine held and the backup lacks: ${keys.map((k) => `${k.slug} (epoch ${k.epochs.join(", ")})`).join(", ")}.` : "",
        // One member key is one mailbox: a machine still using it takes messages this one never sees.
        `If the machine this backup came from still runs, both now share one mailbox per mesh (each message shows on whichever reads first): there, run \`claudemesh leave ${slugs.length === 1 ? slugs[0] : "<slug>"} --yes --forget\` (a plain leave would remove this identity from the mesh).`,
      ]
        .filter(Boolean)
        .join("\n"),
    );
  });
}
