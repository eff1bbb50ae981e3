// What every mesh command needs: the client environment, the local config, the chosen mesh, an
// Output, and (on demand) a connection to that mesh's broker. `command()` wraps a command body so
// that errors print once and become the documented exit code.
import { clientEnv, processEnv, type ClientEnv } from "../config/client.ts";
// Type only: the client module compiles every frame schema when loaded, which commands that never
// connect (--help, whoami, completion, inbox --all, …) should not pay for; connect() loads it.
import type { BrokerClient, ClientOptions } from "../client/client.ts";
import { loadConfig, NoMeshError, recordRemoval, updateConfig, updateConfigAsync, type ConfigChange, type LocalConfig, type MeshEntry } from "../client/local/config-file.ts";
import { brokerBase, BrokerUrlError } from "../client/broker-url.ts";
import { LocalFileError } from "../client/local/files.ts";
import { MeshOnDisk } from "../client/local/mesh-on-disk.ts";
import type { MessagePushFrame, EventFrame } from "../protocol/server-frames.ts";
import { hostname } from "node:os";
import { createOutput, exitFlushed, reportError, UsageError, withFix, type Output } from "./output.ts";
import { checkDuration } from "../config/load.ts";
import { chooseMesh } from "./mesh-choice.ts";
import { meshOption, namingMesh } from "./mesh-named.ts";
import { closedAsRemoved, refusedAsRemoved } from "../client/removed.ts";
import { MeshError } from "../protocol/errors.ts";
import { unknownEnv, unknownEnvText } from "../config/env-names.ts";
import { epochIsNew, recordEpoch, rollbackNote } from "../client/rollback-note.ts";
import { newPublicUrl, publicUrlNote, recordPublicUrl } from "../client/public-url-note.ts";
import { recordRefusal, refusalNoted, refusedLately } from "../client/refusal-memory.ts";
import type { Refusable } from "../client/broker-refusals.ts";
import { mayHaveMoved, movedFix } from "../client/move-hint.ts";
import { savedUrlFix, savedUrlProblem } from "../client/saved-url.ts";

/** `commandPath` (`topic post`) is set by lazyCommand, not by a flag: the command a usage error's
 *  "see … --help" names. */
export type CommonArgs = { json?: boolean; mesh?: string; broker?: string; commandPath?: string };

export type Ctx = {
  env: ClientEnv;
  out: Output;
  args: CommonArgs;
  /** The config as this command last read or wrote it. */
  config(): LocalConfig;
  /** Applies `change` to config.json as it is on disk now (updateConfig: what another process
   *  saved since config() read it is kept); config() then returns the result. */
  update(change: ConfigChange): void;
  /** The mesh named by --mesh, else by CLAUDEMESH_MESH, else the only one joined. The command's
   *  result then names it when several are joined (mesh-named.ts), unless `namedInResult` says
   *  the result names it already. */
  mesh(opts?: { namedInResult?: boolean }): MeshEntry;
  /** How long to wait for each answer of the broker (brokerTimeoutMs), checked once. */
  timeoutMs(): number;
  /** Connects to the mesh's broker as this member. pull: queued messages are not pushed. `probe`:
   *  `mesh.brokerUrl` is a URL being checked (set-broker), not the saved one: nothing is recorded
   *  of what it answers (its epoch, public URL, a removal), and its failures name no fix for a
   *  moved broker. `reconnect` (a command that runs until stopped, `inbox --follow`): the client
   *  reconnects after a drop, to the URL config.json holds for the mesh at that attempt, so that
   *  `claudemesh set-broker` run meanwhile moves it too (said on stderr); `brokerBase` names it.
   *  `handshakeTimeoutMs`: the wait for the hello_ack, when not timeoutMs() (set-broker's check). */
  connect(mesh: MeshEntry, opts?: { receive?: "push" | "pull"; onMessage?: (m: MessagePushFrame) => void; onEvent?: (e: EventFrame) => void; onState?: ClientOptions["onState"]; reconnect?: boolean; probe?: boolean; handshakeTimeoutMs?: number }): Promise<BrokerClient>;
  debug(line: string): void;
};

/** How long a command keeps sending again a message the broker answers `unavailable` (its
 *  database full, locked by another process, failing). The client retries once a second; a
 *  broker that recovers in that time (a lock released) still takes the message, and one that does
 *  not gets the command to exit 6 with the broker's reason within seconds, instead of the request
 *  timeout's 15 s (twice over with the reconnect in `send`) of silence. */
export const UNAVAILABLE_RETRY_MS = 5_000;

/** Default for CLAUDEMESH_TIMEOUT: the client's own request and handshake timeouts. */
const BROKER_TIMEOUT_MS = 15_000;
/** CLAUDEMESH_TIMEOUT's range: up to an hour (a command that waits longer for an answer is a hung
 *  command). */
const BROKER_TIMEOUT_RANGE = { type: "duration", min: 1, max: 3_600_000 } as const;

/** How long a command waits for each answer of the broker (its handshake, a request): the
 *  CLAUDEMESH_TIMEOUT duration, else 15 s. A value that is no duration from 1 ms to 1 h, or a
 *  number without a unit under a second (checkDuration, as for the broker's settings), is a usage
 *  error. */
function brokerTimeoutMs(env: ClientEnv): number {
  if (env.timeout === null) return BROKER_TIMEOUT_MS;
  const checked = checkDuration(env.timeout, BROKER_TIMEOUT_RANGE);
  if ("problem" in checked) throw new UsageError(`CLAUDEMESH_TIMEOUT is "${env.timeout}": ${checked.problem}.`, { fix: "unset CLAUDEMESH_TIMEOUT (the default is 15s), or set it to a duration like 30s" });
  return checked.ms;
}

/** The http(s) base of the broker saved for `mesh`. A URL an older version saved without a scheme
 *  (`localhost:7911`) is read as brokerBase reads it; one that cannot be used throws
 *  LocalFileError (exit 5) whose fix is `claudemesh set-broker`. */
export function savedBroker(cfg: LocalConfig, mesh: MeshEntry): string {
  try {
    return brokerBase(mesh.brokerUrl).base;
  } catch (err) {
    if (!(err instanceof BrokerUrlError)) throw err;
    throw new LocalFileError(savedUrlProblem(mesh.slug, err.message), brokerUrlFix(cfg, mesh));
  }
}

/** How to correct a bad saved broker URL: `claudemesh set-broker`, which checks the new one. */
export const brokerUrlFix = (cfg: LocalConfig, mesh: MeshEntry) => savedUrlFix(meshOption(cfg, mesh));

/** Runs a command body with a Ctx; prints errors and exits with their code. */
export async function command(args: CommonArgs, body: (ctx: Ctx) => Promise<void>): Promise<void> {
  const env = clientEnv(processEnv());
  /** The mesh this command acts on, for its result to name (null: none chosen, or named already). */
  let chosen: MeshEntry | null = null;
  const out = namingMesh(createOutput({ json: Boolean(args.json), interactive: env.interactive }), () => chosen && { cfg: ctx.config(), mesh: chosen });
  // A mistyped variable (CONFIGDIR for CONFIG_DIR) would otherwise leave the command on a default
  // without a word, as serve says at start.
  if (!out.json) for (const u of unknownEnv(processEnv())) out.warn(`${unknownEnvText(u)}.`);
  const clients: BrokerClient[] = [];
  let cfg: LocalConfig | null = null;
  let timeoutMs: number | undefined;
  /** Removals being recorded, waiting for the config lock on the event loop (a follower keeps
   *  going meanwhile); the command exits once they are done. */
  const recording: Promise<void>[] = [];
  const lockWait = (holder: number) => ctx.debug(`config.json is locked by process ${holder}; waiting`);
  const ctx: Ctx = {
    env,
    out,
    args,
    config: () => (cfg ??= loadConfig(env.configDir)),
    update: (change) => void (cfg = updateConfig(env.configDir, change, lockWait)),
    mesh(opts) {
      const mesh = chooseMesh(ctx.config(), args.mesh, env.mesh);
      chosen = opts?.namedInResult ? null : mesh;
      return mesh;
    },
    timeoutMs: () => (timeoutMs ??= brokerTimeoutMs(env)),
    async connect(mesh, opts = {}) {
      const url = savedBroker(ctx.config(), mesh);
      const disk = opts.reconnect && !opts.probe ? followedUrl(mesh, url) : null;
      const timeoutMs = ctx.timeoutMs();
      const { BrokerClient } = await import("../client/client.ts");
      const client = new BrokerClient({
        url: disk ? () => disk.brokerUrl() : url,
        credentials: { kind: "member", meshId: mesh.meshId, memberId: mesh.memberId, keys: { publicKey: mesh.publicKey, secretKey: mesh.secretKey } },
        where: { sessionId: `cli-${process.pid}`, pid: process.pid, cwd: process.cwd(), hostname: hostname(), receive: opts.receive ?? "pull" },
        reconnect: opts.reconnect ?? false,
        // A command run by a person or a script reports an unreachable broker at once (exit 6)
        // instead of waiting for it; only the MCP server waits for its broker to appear.
        firstConnect: "fail",
        unavailableRetryMs: UNAVAILABLE_RETRY_MS,
        handshakeTimeoutMs: opts.handshakeTimeoutMs ?? timeoutMs,
        requestTimeoutMs: timeoutMs,
        ...(opts.onMessage ? { onMessage: opts.onMessage } : {}),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        // What this machine saw the broker refuse within the hour (the hello's `events` field, the
        // lookups) is not asked again by a one-shot command (refusal-memory.ts); one that stays
        // connected asks each time. Each refusal is noted (not a probe's: that URL is not saved).
        refusedLately: !opts.reconnect && !opts.probe ? refusedLately(entryOf(mesh), url, Date.now()) : [],
        onRefused: (what) => !opts.probe && noteRefusal(mesh, what, client.brokerBase),
        // Kicked or banned while connected (a follower), or a hello refused as revoked: the
        // key never connects again, which is recorded for `list` however the command ends (best
        // effort: the refusal is reported whether or not it could be recorded).
        onState: (state, detail) => {
          const failed = (err: unknown) => ctx.debug(`removal not recorded in the config: ${(err as Error).message}`);
          if (!opts.probe && state === "closed" && closedAsRemoved(detail.code, detail.reason)) recording.push(recordRemoval(env.configDir, mesh.meshId, failed, lockWait));
          if (!opts.probe && state === "open") noteEpoch(mesh, client.ack?.epoch);
          if (!opts.probe && state === "open") notePublicUrl(mesh, client.ack?.publicUrl, client.brokerBase);
          opts.onState?.(state, detail);
        },
      });
      clients.push(client);
      ctx.debug(`connecting to ${url} as ${mesh.displayName}`);
      await out.wait(`connecting to ${new URL(url).host}`, client.connect()).catch((err: unknown) => {
        // Recorded by onState, which saw the close before this rejection arrives. Not for a probe:
        // what answers at a URL not yet accepted does not speak for the mesh (set-broker words it).
        if (!opts.probe && err instanceof MeshError && err.code === "revoked") throw refusedAsRemoved(mesh.slug, err);
        // Nothing usable at the saved URL is how a broker that moved shows: the fix names the command.
        throw !opts.probe && mayHaveMoved(err) ? withFix(err as Error, movedFix(meshOption(ctx.config(), mesh))) : err;
      });
      return client;
    },
    debug: (line) => env.debug && process.stderr.write(`[debug] ${line}\n`),
  };
  /** The mesh's entry in the config as read now (by id: `mesh` may be a copy read earlier). */
  const entryOf = (mesh: MeshEntry) => ctx.config().meshes.find((m) => m.meshId === mesh.meshId);
  /** The mesh's entry on disk, read for its broker URL before each connection attempt of a client
   *  that reconnects (MeshOnDisk, as the MCP server reads it), starting from `url`. */
  const followedUrl = (mesh: MeshEntry, url: string) =>
    new MeshOnDisk(env.configDir, { ...mesh, brokerUrl: url }, {
      moved: (_, to) => out.note(`The broker of ${mesh.slug} moved to ${to} (claudemesh set-broker); connecting there.`),
      unreadable: (err) => ctx.debug(`config.json not read for the broker URL; keeping the last one: ${(err as Error).message}`),
    });
  /** Writes `change` to the config as the command runs (awaited before it exits). Best effort: a
   *  config that cannot be written costs the note (`what`), not the command. */
  const remember = (change: ConfigChange, what: string) =>
    recording.push(updateConfigAsync(env.configDir, change, lockWait).then((saved) => void (cfg = saved), (err: unknown) => ctx.debug(`${what} not recorded in the config: ${(err as Error).message}`)));
  /** Remembers the broker's database epoch for `mesh` (each hello_ack, a follower's reconnects
   *  included) and says once when it changed: the broker runs from a restored backup. Best effort,
   *  like a removal's record: a config that cannot be written costs the note, not the command. */
  const noteEpoch = (mesh: MeshEntry, epoch: string | undefined) => {
    if (!epochIsNew(entryOf(mesh), epoch)) return;
    const change = recordEpoch(mesh.meshId, epoch, () => out.warn(rollbackNote(mesh.slug)));
    remember(change, "broker epoch");
  };
  /** Says once that the broker of `mesh` states a public URL other than `url`, the one in use
   *  (public-url-note.ts), and records that it was said. Best effort, as noteEpoch. */
  const notePublicUrl = (mesh: MeshEntry, stated: string | undefined, url: string) => {
    const other = newPublicUrl(entryOf(mesh), stated, url);
    if (other === null) return;
    out.warn(publicUrlNote(mesh.slug, other, url, meshOption(ctx.config(), mesh)));
    remember(recordPublicUrl(mesh.meshId, other), "public URL");
  };
  /** Notes that the broker of `mesh` at `url` refused `what` (an older broker), unless noted
   *  within the hour. Best effort, as noteEpoch: unnoted, the next command asks again. */
  const noteRefusal = (mesh: MeshEntry, what: Refusable, url: string) => {
    if (refusalNoted(entryOf(mesh), what, url, Date.now())) return;
    remember(recordRefusal(mesh.meshId, what, url, Date.now()), "older broker");
  };
  let code = 0;
  try {
    // `--mesh` with nothing after it (or `--mesh ""`) reads as "" and would fall back to the
    // default mesh without a word, while every other option's missing value is refused.
    if (typeof args.mesh === "string" && !args.mesh.trim()) throw new UsageError("--mesh needs a mesh slug or id (claudemesh list shows yours).");
    await body(ctx);
  } catch (err) {
    // Named here, where the config dir is known: the usual reason is a dir other than the one meant.
    code = reportError(err instanceof NoMeshError ? new NoMeshError(env.configDir) : err, out.json, env.debug, args.commandPath);
  } finally {
    for (const c of clients) c.close();
    await Promise.all(recording);
  }
  await exitFlushed(code !== 0 ? code : Number(process.exitCode ?? 0));
}
