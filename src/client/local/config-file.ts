// ~/.claudemesh/config.json: the joined meshes, each with its broker, this member's identity
// keypair and the mesh keys by epoch. Versioned; validated on read; written atomically, 0600.
import { brokerBase } from "../broker-url.ts";
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_PUBLIC_URL_LEN } from "../../protocol/limits.ts";
import { PUBKEY_RE, SECRET_KEY_RE } from "../../crypto/fields.ts";
import { LocalFileError, assertPrivate, ensurePrivateDir, moveAsideFix, readPrivateJson, writePrivateFile } from "./files.ts";
import { statIfAny } from "../../local-file/error.ts";
import { withConfigLock, withConfigLockAsync, type OnLockWait } from "./config-lock.ts";
import { parseJsonText } from "../../local-file/json.ts";
import type { Removals } from "../admission.ts";

export const CONFIG_VERSION = 1;

export type MeshKey = { epoch: number; key: string };

/** `held` plus the epochs of `incoming` it lacks, sorted; null when nothing is new. An epoch's key
 *  never changes: a different key for one already held is ignored. */
export function mergeMeshKeys(held: readonly MeshKey[], incoming: readonly MeshKey[]): MeshKey[] | null {
  const have = new Set(held.map((k) => k.epoch));
  const added = incoming.filter((k) => !have.has(k.epoch) && (have.add(k.epoch), true)).map((k) => ({ epoch: k.epoch, key: k.key }));
  return added.length === 0 ? null : [...held, ...added].sort((a, b) => a.epoch - b.epoch);
}

export type MeshEntry = {
  meshId: string;
  slug: string;
  name: string;
  brokerUrl: string;
  memberId: string;
  displayName: string;
  role: "owner" | "admin" | "member";
  ownerPubkey: string;
  /** This member's ed25519 identity for the mesh (hex). */
  publicKey: string;
  secretKey: string;
  /** Symmetric mesh keys (base64), newest epoch last. */
  meshKeys: MeshKey[];
  joinedAt: number;
  /** The owner's own record of the members it removed (admission.ts): kept here, not taken from
   *  the broker, so that a broker cannot make a removed member look current again. */
  removed?: Removals;
  /** When the broker first refused this member's key as removed (left, kicked or banned): the key
   *  never connects again, and `list` says so without asking the broker. */
  removedAt?: number;
  /** The broker's database epoch (`hello_ack.epoch`) when this machine's CLI last connected: a
   *  new one means the broker runs from a restored backup (or a new database), which the CLI says
   *  once (src/client/rollback-note.ts). */
  brokerEpoch?: string;
  /** The public URL the broker stated (`hello_ack.publicUrl`) that the CLI last told its user of,
   *  when it was not the URL in use (public-url-note.ts): said once for each new value. */
  brokerPublicUrl?: string;
  /** When this machine's CLI last saw the broker at `brokerUrl` refuse the hello's `events` field
   *  (a broker older than it): its one-shot commands leave the field out for an hour
   *  (refusal-memory.ts). */
  eventsRefused?: RefusalNote;
  /** The same for the `peer_lookup`/`member_lookup` requests: its one-shot commands read the lists
   *  whole for an hour without asking them first. */
  lookupsRefused?: RefusalNote;
  /** When this member (not the owner) last sent the owner a key request from this machine, and for
   *  which mesh epoch: its CLI commands and MCP servers do not ask again for that epoch within
   *  KEYS_ASK_INTERVAL_MS (key-request.ts), since the request waits in the owner's mailbox. */
  keysAsked?: { epoch: number; at: number };
};

/** That the broker at `brokerUrl` refused something newer than it at `at` (ms, wall clock). */
export type RefusalNote = { brokerUrl: string; at: number };
const isRefusalNote = (v: any): boolean => typeof v?.brokerUrl === "string" && Number.isSafeInteger(v?.at);
/** The entry's notes of what a broker refused (refusal-memory.ts maps each refusal to one). */
export type RefusalNoteField = "eventsRefused" | "lookupsRefused";
/** The entry's notes that only spare a request or a connection, each with its check. */
const NOTES: Record<RefusalNoteField | "keysAsked", (v: any) => boolean> = {
  eventsRefused: isRefusalNote,
  lookupsRefused: isRefusalNote,
  keysAsked: (v) => Number.isSafeInteger(v?.epoch) && v.epoch >= 0 && Number.isSafeInteger(v?.at),
};

/** `e` without the notes that are damaged: a note only spares a request or a connection, which the
 *  command then makes (it asks again), so it is no reason to refuse the whole file. */
function withoutDamagedNotes(e: any): any {
  const damaged = Object.entries(NOTES).filter(([f, ok]) => e[f] !== undefined && !ok(e[f])).map(([f]) => f);
  if (damaged.length === 0) return e;
  const kept = { ...e };
  for (const f of damaged) delete kept[f];
  return kept;
}

export type { Removals };

export type LocalConfig = { version: typeof CONFIG_VERSION; meshes: MeshEntry[] };

export const configPath = (dir: string) => join(dir, "config.json");


/** Where a config came from, for messages: the file's path, or the backup it was in; `fix` is
 *  what to do when it is damaged (null for a backup: its contents are authenticated). */
export type ConfigSource = { name: string; fix: string | null };

/** config.json in `dir`: damaged, the way back is a backup or joining again. Moving it aside is
 *  the first step, or `claudemesh restore` would stop at the same damaged file. */
export const configFileSource = (dir: string): ConfigSource => ({ name: configPath(dir), fix: moveAsideFix(configPath(dir), "restore a backup (claudemesh restore FILE) or join your meshes again") });

function checkEntry(e: any, i: number, source: ConfigSource): MeshEntry {
  const bad = (field: string) => new LocalFileError(`${source.name} is damaged: meshes[${i}].${field} is missing or invalid.`, source.fix);
  for (const f of ["meshId", "slug", "name", "brokerUrl", "memberId", "displayName"]) if (typeof e?.[f] !== "string" || e[f] === "") throw bad(f);
  if (!["owner", "admin", "member"].includes(e.role)) throw bad("role");
  if (!PUBKEY_RE.test(e.publicKey ?? "")) throw bad("publicKey");
  if (!SECRET_KEY_RE.test(e.secretKey ?? "")) throw bad("secretKey");
  if (!PUBKEY_RE.test(e.ownerPubkey ?? "")) throw bad("ownerPubkey");
  if (!Array.isArray(e.meshKeys) || !e.meshKeys.every((k: any) => Number.isInteger(k?.epoch) && typeof k?.key === "string")) throw bad("meshKeys");
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (e.removedAt !== undefined && !Number.isSafeInteger(e.removedAt)) throw bad("removedAt");
  if (e.brokerEpoch !== undefined && (typeof e.brokerEpoch !== "string" || e.brokerEpoch === "" || e.brokerEpoch.length > 64)) throw bad("brokerEpoch");
  if (e.brokerPublicUrl !== undefined && (typeof e.brokerPublicUrl !== "string" || e.brokerPublicUrl === "" || e.brokerPublicUrl.length > MAX_PUBLIC_URL_LEN)) throw bad("brokerPublicUrl");
  if (e.removed !== undefined && !(strings(e.removed?.keys) && strings(e.removed?.invites) && strings(e.removed?.kept))) throw bad("removed");
  return withoutDamagedNotes(e) as MeshEntry;
}

/** The error for config text from `source` that is empty or not JSON (`problem`: parseJsonText's). */
const notJson = (source: ConfigSource) => (problem: string) => new LocalFileError(`${source.name} ${problem}.`, source.fix);

/** Parses and validates config text from `source` (a backup's). Throws LocalFileError: damaged
 *  (not JSON, empty, no version, a field missing) with source.fix, or written by a newer
 *  claudemesh. */
export function parseConfig(text: string, source: ConfigSource): LocalConfig {
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw notJson(source)(parsed.problem);
  return checkConfig(parsed.value, source);
}

/** Validates a config's JSON value from `source`; throws as parseConfig does. */
function checkConfig(value: unknown, source: ConfigSource): LocalConfig {
  const raw = value as any;
  const version = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw.version : undefined;
  // Only a later version number is a newer claudemesh's; anything else ({} included) is damage.
  if (Number.isInteger(version) && version > CONFIG_VERSION) {
    throw new LocalFileError(`${source.name} was written by a newer claudemesh (config version ${version}; this one reads version ${CONFIG_VERSION}).`, "upgrade claudemesh");
  }
  if (version !== CONFIG_VERSION) {
    const found = version === undefined ? `no "version" field` : `"version": ${JSON.stringify(version)}`;
    throw new LocalFileError(`${source.name} is damaged or not a claudemesh config (${found}; expected ${CONFIG_VERSION}).`, source.fix);
  }
  if (!Array.isArray(raw.meshes)) throw new LocalFileError(`${source.name} is damaged: "meshes" is not a list.`, source.fix);
  return { version: CONFIG_VERSION, meshes: raw.meshes.map((m: unknown, i: number) => withSchemeOnBroker(checkEntry(m, i, source))) };
}

/** An older `new` saved `--broker localhost:7911` as given; such a URL is read as brokerBase reads
 *  it (http:// for localhost and IP addresses), here once for every reader, so that invite links
 *  made from it carry a URL joiners accept. A URL that cannot be used is kept as it is: commands
 *  that need it say where to correct it (savedBroker in src/cli/context.ts). */
function withSchemeOnBroker(entry: MeshEntry): MeshEntry {
  try {
    const { base, assumed } = brokerBase(entry.brokerUrl);
    return assumed ? { ...entry, brokerUrl: base } : entry;
  } catch {
    return entry;
  }
}

/** Loads the config (an empty one if none exists). Throws LocalFileError for a config directory
 *  or file others can read, one that is not what it should be (a file for the directory, a
 *  directory for the file), cannot be read, or is damaged (as parseConfig). */
export function loadConfig(dir: string): LocalConfig {
  const st = statIfAny(dir, { what: "the claudemesh config directory", fix: { ENOTDIR: "set CLAUDEMESH_CONFIG_DIR to a directory of your own" } });
  if (st === null) return { version: CONFIG_VERSION, meshes: [] };
  if (!st.isDirectory()) throw configDirIsFile(dir);
  assertPrivate(dir, st);
  const source = configFileSource(dir);
  const read = readPrivateJson(configPath(dir), { what: "the claudemesh config", damaged: notJson(source) });
  return read === null ? { version: CONFIG_VERSION, meshes: [] } : checkConfig(read.value, source);
}

/** A file where the config directory belongs. Only ~/.claudemesh (the default of configDirOf in
 *  src/config/client.ts, which this module may not import) is to be moved aside: any other
 *  directory came from CLAUDEMESH_CONFIG_DIR, so the file is one the user named, maybe not theirs
 *  to move (`CLAUDEMESH_CONFIG_DIR=/etc/passwd`); the variable is what to change. */
function configDirIsFile(dir: string): LocalFileError {
  if (resolve(dir) === join(homedir(), ".claudemesh")) return new LocalFileError(`${dir} is a file, not a directory: claudemesh keeps its config and keys in a directory there.`, `move it aside (mv ${dir} ${dir}.aside), or set CLAUDEMESH_CONFIG_DIR to a directory of your own`);
  return new LocalFileError(`CLAUDEMESH_CONFIG_DIR names ${dir}, a file, not a directory: claudemesh keeps its config and keys in a directory.`, "set CLAUDEMESH_CONFIG_DIR to a directory of your own (unset, it is ~/.claudemesh)");
}

/** The config as config.json holds it. */
export const configText = (cfg: LocalConfig): string => JSON.stringify(cfg, null, 2) + "\n";

/** Writes config.json (writePrivateFile makes `dir` private first). */
export function saveConfig(dir: string, cfg: LocalConfig): void {
  writePrivateFile(configPath(dir), configText(cfg), { what: "the claudemesh config" });
}

/** A change to the config: given the config as it is on disk, the config to save, or null for
 *  "nothing to change". */
export type ConfigChange = (onDisk: LocalConfig) => LocalConfig | null;

/** The one way a running command or MCP server writes config.json: `change` is applied to the file
 *  as it is now, not to a copy read earlier, and under the config lock, so what another process
 *  saved meanwhile (an MCP server's removal mark or keys, a command's new mesh) is kept. Returns the
 *  config the file now holds. Throws LocalFileError as loadConfig and saveConfig do, or when
 *  another process keeps the lock (config-lock.ts); the file is then unchanged. Blocks while it
 *  waits for the lock: code that serves others meanwhile uses updateConfigAsync. */
export function updateConfig(dir: string, change: ConfigChange, onWait?: OnLockWait): LocalConfig {
  return lockable(dir) ? withConfigLock(dir, applying(dir, change), onWait) : applying(dir, change)();
}

/** updateConfig, waiting for the lock on the event loop (withConfigLockAsync). */
export async function updateConfigAsync(dir: string, change: ConfigChange, onWait?: OnLockWait): Promise<LocalConfig> {
  return lockable(dir) ? withConfigLockAsync(dir, applying(dir, change), onWait) : applying(dir, change)();
}

/** Reads the file, applies `change`, and saves what it returns. */
const applying = (dir: string, change: ConfigChange) => (): LocalConfig => {
  const onDisk = loadConfig(dir);
  const next = change(onDisk);
  if (next === null) return onDisk;
  saveConfig(dir, next);
  return next;
};

/** Whether a change to `dir`'s config takes the lock (another process's change in between would
 *  be lost, config-lock.ts), creating the directory if there is none. A path that is not a
 *  directory is left to loadConfig, which says what is wrong with it; a directory others can read
 *  is refused by loadConfig too, not quietly tightened here. */
function lockable(dir: string): boolean {
  const st = statIfAny(dir);
  if (st && !st.isDirectory()) return false;
  if (!st) ensurePrivateDir(dir);
  return true;
}

/** A change to one mesh's entry: `edit` gets the entry as it is on disk and returns it changed,
 *  or null for "nothing to change"; the rest of the entry, and of the file, is written back as it
 *  is on disk (what another process saved meanwhile is kept). Nothing when the mesh is no longer
 *  joined (a `leave` meanwhile). The entry keeps its place in the list. */
export const changeMesh =
  (meshId: string, edit: (onDisk: MeshEntry) => MeshEntry | null): ConfigChange =>
  (cfg) => {
    const entry = cfg.meshes.find((m) => m.meshId === meshId);
    const next = entry && edit(entry);
    return next ? { ...cfg, meshes: cfg.meshes.map((m) => (m === entry ? next : m)) } : null;
  };

/** `first`, then `second` on what `first` left: one change, saved at once (null when neither
 *  changes anything). */
export const bothChanges =
  (first: ConfigChange, second: ConfigChange): ConfigChange =>
  (cfg) => {
    const a = first(cfg);
    return second(a ?? cfg) ?? a;
  };

/** Records that the broker refused this mesh's key as removed (`list` shows it); the first
 *  refusal's time is kept. */
export const markRemoved = (meshId: string): ConfigChange => changeMesh(meshId, (e) => (e.removedAt === undefined ? { ...e, removedAt: Date.now() } : null));

/** markRemoved written to `dir`'s config by updateConfigAsync. Best effort, so it never rejects:
 *  a failure goes to `failed`, and the caller reports the refusal all the same. */
export const recordRemoval = (dir: string, meshId: string, failed: (err: unknown) => void, onWait?: OnLockWait): Promise<void> =>
  updateConfigAsync(dir, markRemoved(meshId), onWait).then(() => {}, failed);

/** Adds the mesh keys a session learnt to the mesh's entry, keeping every epoch already there
 *  (mergeMeshKeys); nothing when they add nothing, or when the mesh is no longer joined. */
export const addMeshKeys = (meshId: string, meshKeys: readonly MeshKey[]): ConfigChange =>
  changeMesh(meshId, (e) => {
    const merged = mergeMeshKeys(e.meshKeys, meshKeys);
    return merged && { ...e, meshKeys: merged };
  });

/** Adds or replaces the entry for a mesh id. */
export function upsertMesh(cfg: LocalConfig, entry: MeshEntry): LocalConfig {
  return { ...cfg, meshes: [...cfg.meshes.filter((m) => m.meshId !== entry.meshId), entry] };
}

/** No mesh is joined. `configDir`, when the thrower knows it, is named: a config dir other than the
 *  one meant (a mistyped CLAUDEMESH_CONFIG_DIR) is the usual reason. */
export class NoMeshError extends MeshError {
  constructor(configDir?: string) {
    super("not_found", `You have not joined any mesh${configDir ? ` (config dir ${configDir})` : ""}. Create one with \`claudemesh new <name>\` or join with \`claudemesh join -\` (then paste the link).`);
  }
}

/** Picks a mesh by slug or id; with no selector, the only joined mesh. Throws NoMeshError when
 *  none is joined, MeshError otherwise. A slug two joined meshes share is refused naming, for
 *  each, `byId(id)`: how to give its id where the caller took the slug (`--mesh <id>` unless
 *  said otherwise; `leave` takes it as its argument, CLAUDEMESH_MESH as its value). */
export function selectMesh(cfg: LocalConfig, selector?: string | null, byId: (meshId: string) => string = (id) => `--mesh ${id}`): MeshEntry {
  if (cfg.meshes.length === 0) throw new NoMeshError();
  if (!selector) {
    if (cfg.meshes.length === 1) return cfg.meshes[0]!;
    throw new MeshError("invalid_argument", `You are in several meshes (${cfg.meshes.map((m) => m.slug).join(", ")}); choose one with --mesh <slug>.`);
  }
  const withId = cfg.meshes.find((x) => x.meshId === selector);
  if (withId) return withId;
  const bySlug = cfg.meshes.filter((x) => x.slug === selector);
  if (bySlug.length > 1) {
    // Meshes on different brokers may share a slug; guessing between them could leave the wrong one.
    throw new MeshError("invalid_argument", `Several joined meshes are called "${selector}"; choose one by its id: ${bySlug.map((x) => `${byId(x.meshId)} (on ${x.brokerUrl})`).join(" or ")}.`);
  }
  if (bySlug.length === 0) throw new MeshError("not_found", `No joined mesh "${selector}". Joined: ${cfg.meshes.map((x) => x.slug).join(", ") || "none"}.`);
  return bySlug[0]!;
}

export const currentKey = (m: MeshEntry): MeshKey | undefined => m.meshKeys.reduce<MeshKey | undefined>((a, k) => (!a || k.epoch > a.epoch ? k : a), undefined);
