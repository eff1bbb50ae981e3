// claudemesh doctor: checks the pieces Claude Code needs, each with the command that fixes it.
import { accessSync, constants, existsSync } from "node:fs";
import { resolve } from "node:path";
import { LocalFileError } from "../../client/local/files.ts";
import { configPath, type MeshEntry } from "../../client/local/config-file.ts";
import { signingKeypairFromSeed } from "../../crypto/sign.ts";
import { fromHex } from "../../crypto/encoding.ts";
import { commandFile, configDirEnv, hookLauncher, launcher } from "../claude-code/launcher.ts";
import { shellCommand } from "../../config/command-line.ts";
import { entryIn, entryText, readClaudeJson, sameEntry, type ServerEntry } from "../claude-code/mcp-registration.ts";
import { entryConfigDir, hooksConfigDir } from "../claude-code/installed-for.ts";
import { installedPart } from "../claude-code/kept-choices.ts";
import { ownerKeyGapFix } from "../../client/key-gap.ts";
import { readSettings, settingsPath } from "../claude-code/claude-files.ts";
import { missingHooks, otherLaunchers, outdatedHooks } from "../claude-code/hooks-settings.ts";
import { brokerBase } from "../../client/broker-url.ts";
import { brokerTrouble, troubleText } from "../broker-health.ts";
import { mayHaveMoved, movedFix } from "../../client/move-hint.ts";
import { certificateFix } from "../../client/broker-trouble.ts";
import { otherPublicUrl, plainHttpCaution, setBrokerCommand, tlsDropped } from "../../client/public-url-note.ts";
import { Exit, MeshError } from "../../protocol/errors.ts";
import { brokerUrlFix, command, type Ctx } from "../context.ts";
import type { BrokerClient } from "../../client/client.ts";
import { refusalFix } from "../../client/refusal-fix.ts";
import { rekeyDue } from "../rekey-due.ts";
import { meshOption } from "../mesh-named.ts";

type Check = { check: string; ok: boolean; detail: string; fix: string | null };

/** The fix when this config directory holds no mesh. */
const JOIN_FIX = "claudemesh join - (or claudemesh new <name> --broker URL)";

/** The fix of a broker check that failed for the broker's sake (not for this member's key), when
 *  the refusal has no fix of its own (refusal-fix.ts: a clock skew is this machine's to fix). */
const BROKER_FIX = "check the broker URL and that claudemesh serve runs there";

/** The fix when nothing usable answered at `base` (mayHaveMoved): the broker is down, or it moved
 *  and `set-broker` (with `opt`, the --mesh it needs) gives its new URL. */
const downOrMovedFix = (base: string, opt: string) => `check that claudemesh serve runs at ${base}; ${movedFix(opt)}`;

/** The binary and the local config; `usable` when the config could be loaded and has meshes to
 *  check further. A config that cannot be loaded is a failed check with its fix, not a crash. */
function localChecks(ctx: Ctx, elsewhere: string | null): { checks: Check[]; usable: boolean } {
  const out: Check[] = [];
  const argv = launcher();
  let exec = true;
  try {
    accessSync(argv[0]!, constants.X_OK);
  } catch {
    exec = false;
  }
  out.push({ check: "binary", ok: exec, detail: shellCommand(argv), fix: exec ? null : "reinstall claudemesh (install.sh), then run claudemesh install" });
  const dir = ctx.env.configDir;
  try {
    ctx.config();
  } catch (err) {
    if (!(err instanceof LocalFileError)) throw err;
    out.push({ check: "config", ok: false, detail: err.message, fix: err.fix });
    return { checks: out, usable: false };
  }
  // loadConfig refused anything but a missing file, so this is the plain "not there".
  if (!existsSync(configPath(dir))) {
    out.push({ check: "config", ok: false, detail: `${configPath(dir)} does not exist`, fix: elsewhere ? elsewhereFix(elsewhere, resolve(dir)) : JOIN_FIX });
    return { checks: out, usable: false };
  }
  out.push({ check: "config permissions", ok: true, detail: `${dir} 0700, config.json 0600`, fix: null });
  // A config whose last mesh was left is as empty as a missing one: Claude Code sessions would
  // join nothing, so it fails as "does not exist" does.
  if (ctx.config().meshes.length === 0) {
    out.push({ check: "meshes", ok: false, detail: `none joined in ${configPath(dir)}: Claude Code sessions join no mesh`, fix: elsewhere ? elsewhereFix(elsewhere, resolve(dir)) : JOIN_FIX });
    return { checks: out, usable: false };
  }
  return { checks: out, usable: true };
}

async function meshChecks(ctx: Ctx): Promise<Check[]> {
  const out: Check[] = [];
  for (const m of ctx.config().meshes) {
    const keysOk = signingKeypairFromSeed(fromHex(m.secretKey.slice(0, 64))).publicKey === m.publicKey;
    // A bare command is refused with several meshes joined: each fix names this one.
    const opt = meshOption(ctx.config(), m);
    out.push({ check: `${m.slug}: keys`, ok: keysOk && m.meshKeys.length > 0, detail: keysOk ? `identity ${m.publicKey.slice(0, 12)}, ${m.meshKeys.length} mesh key epoch(s)` : "secret key does not match the public key", fix: keysOk ? (m.meshKeys.length ? null : `claudemesh inbox${opt} (receives keys from the owner)`) : "claudemesh restore <backup> or re-join" });
    let base: string;
    try {
      base = brokerBase(m.brokerUrl).base;
    } catch (err) {
      out.push({ check: `${m.slug}: broker URL`, ok: false, detail: (err as Error).message, fix: brokerUrlFix(ctx.config(), m) });
      continue;
    }
    const trouble = await brokerTrouble(ctx, m.brokerUrl, "/health/ready");
    if (trouble) {
      out.push({ check: `${m.slug}: broker`, ok: false, detail: troubleText(trouble), fix: certificateFix(trouble) ?? (mayHaveMoved(trouble) ? downOrMovedFix(base, opt) : BROKER_FIX) });
      continue;
    }
    try {
      const client = await ctx.connect(m);
      // A public URL the broker states other than the one in use: said every time here (commands
      // say it once), with the command that moves to it.
      const other = otherPublicUrl(client.ack!.publicUrl, base);
      const dropped = other && tlsDropped(other, base);
      const caution = plainHttpCaution(base);
      const publicUrl = !other ? "" : dropped ? `; it gives ${other} as its public URL. ${dropped}` : `; it gives ${other} as its public URL (to use that: ${setBrokerCommand(other, opt)})${caution && `.${caution}`}`;
      out.push({ check: `${m.slug}: broker`, ok: true, detail: `${base} accepts you as ${client.ack!.displayName} (${client.ack!.role})${publicUrl}`, fix: null });
      out.push(epochCheck(m, client.ack!.mesh.keyEpoch, opt));
      if (client.ack!.role === "owner") out.push(await rotationCheck(m.slug, client, opt));
      client.close();
    } catch (err) {
      const removed = err instanceof MeshError && (err.code === "revoked" || err.code === "unauthorized");
      out.push({ check: `${m.slug}: broker`, ok: false, detail: (err as Error).message, fix: removed ? `claudemesh leave ${m.slug} --yes forgets it here; only an owner or admin can let you back in, with a new invite` : (refusalFix(err) ?? certificateFix(err) ?? (mayHaveMoved(err) ? downOrMovedFix(base, opt) : BROKER_FIX)) });
    }
  }
  return out;
}

/** Whether this machine holds the mesh's newest key epoch (the broker's hello_ack keyEpoch): a
 *  member behind it gets the key from the owner; an owner behind it only by rotating again. */
function epochCheck(m: MeshEntry, meshEpoch: number, opt: string): Check {
  const check = `${m.slug}: mesh key epoch`;
  const held = Math.max(...m.meshKeys.map((k) => k.epoch), -1);
  if (held === meshEpoch) return { check, ok: true, detail: `this machine holds epoch ${held}, the mesh's newest`, fix: null };
  // Above the mesh's: a rotation saved here first (moderate.ts) that never reached key_rotate.
  if (held > meshEpoch) return aheadCheck(check, m, held, meshEpoch, opt);
  const detail = `the mesh is at epoch ${meshEpoch}, this machine has ${held < 0 ? "no key" : `epoch ${held}`}: it cannot post to topics, groups or everyone, nor read what was sent under the newer key`;
  return m.role === "owner"
    ? { check, ok: false, detail, fix: ownerKeyGapFix(held, meshEpoch, opt) }
    : { check, ok: false, detail, fix: `claudemesh inbox${opt} (reads the key the owner sent; a post attempt asks the owner again if it is not there)` };
}

/** A machine holding an epoch above the mesh's: for the owner, a `rekey` or `kick` that stopped
 *  between saving the new key and recording it at the broker, which members may never get; posts
 *  are sealed under the mesh's epoch meanwhile (MeshSession.sealingKey), so nothing is unreadable,
 *  but a kick's rotation has not happened. Rekey finishes it with a new epoch above both. A member
 *  holding such a key got it from that unfinished rotation: nothing for it to do. */
function aheadCheck(check: string, m: MeshEntry, held: number, meshEpoch: number, opt: string): Check {
  if (m.role !== "owner") return { check, ok: true, detail: `this machine holds epoch ${held}, ahead of the mesh's ${meshEpoch}: the owner's rotation to it is not finished; posts are sealed under epoch ${meshEpoch} until it is`, fix: null };
  const detail = `this machine holds epoch ${held}, above the mesh's ${meshEpoch}: a rekey or kick saved that key here and stopped before the broker recorded it, so members may not have it (posts are sealed under epoch ${meshEpoch} meanwhile) and a removed member may still read them`;
  return { check, ok: false, detail, fix: `claudemesh rekey${opt} (finishes the rotation: a new epoch above both, sent to every member and recorded at the broker)` };
}

/** The owner's check that no removal or leave since the last key rotation still waits for a rekey.
 *  `opt` is the --mesh its fixes (rekey, audit log) need when several meshes are joined, where a
 *  bare command is refused (meshOption). */
async function rotationCheck(slug: string, client: BrokerClient, opt: string): Promise<Check> {
  const check = `${slug}: key rotation`;
  let removed: string[];
  try {
    removed = await rekeyDue(client);
  } catch (err) {
    return { check, ok: false, detail: `could not read the audit log: ${(err as Error).message}`, fix: `claudemesh audit log${opt}` };
  }
  return removed.length === 0
    ? { check, ok: true, detail: "no member removed or left since the last rotation", fix: null }
    : { check, ok: false, detail: `removed or left since the last rotation, and still able to open new fan-out messages they get hold of with the keys they kept: ${removed.join(", ")}`, fix: `claudemesh rekey${opt}` };
}

/** A file of Claude Code's that cannot be read is a failed check, not a crash of doctor. */
function unreadable(check: string, err: unknown): Check {
  if (!(err instanceof LocalFileError)) throw err;
  return { check, ok: false, detail: err.message, fix: "fix or move the file, then run claudemesh install" };
}

/** The fix when Claude Code is set up for another config directory than this shell's: check that
 *  one. Never a bare `claudemesh install`, which would re-point Claude Code at this shell's. */
const elsewhereFix = (dir: string, current: string) =>
  `${shellCommand([`CLAUDEMESH_CONFIG_DIR=${dir}`])} claudemesh doctor checks that setup (run claudemesh install only from a shell that sets it: from this one it would switch Claude Code to ${current})`;

/** The fix when Claude Code is set up for another claudemesh binary than the one running doctor. */
const ANOTHER_FIX = "claudemesh install, run as the claudemesh Claude Code should start (it replaces the other one)";

/** The MCP registration and the hooks, and the config directory they are installed for when it is
 *  another one than this shell's (null when it is this one, or they are not ours). */
function claudeChecks(ctx: Ctx): { checks: Check[]; elsewhere: string | null } {
  const argv = launcher();
  const current = resolve(ctx.env.configDir);
  const env = configDirEnv(current, ctx.env.home);
  const expected = { type: "stdio" as const, command: argv[0]!, args: [...argv.slice(1), "mcp"], env };
  const out: Check[] = [];
  let elsewhere: string | null = null;
  const other = (dir: string) => `for the config directory ${dir}, not this shell's ${current} (CLAUDEMESH_CONFIG_DIR)`;
  try {
    const entry = entryIn(readClaudeJson(ctx.env.home));
    // The label and variables a user added are theirs (kept-choices.ts): not a wrong registration.
    // Nor is a command that leads to this very binary (a bare name on PATH, a symbolic link).
    const started = (e: ServerEntry) => (typeof e.command === "string" ? { ...e, command: commandFile(e.command) } : e);
    const same = entry !== null && sameEntry(started(installedPart(entry)), started(expected));
    const dir = entry && !same ? entryConfigDir(entry, ctx.env.home) : null;
    if (dir !== null && dir !== current) {
      elsewhere = dir;
      out.push({ check: "MCP registration", ok: false, detail: `${entryText(entry!)}: ${other(dir)}`, fix: elsewhereFix(dir, current) });
    } else {
      // Another claudemesh's registration (an older install elsewhere, a checkout) is named as
      // such: printed alone it read like this one's, failing for no reason given.
      const detail = !entry ? "not registered" : same ? entryText(entry) : `${entryText(entry)}, not this claudemesh (${entryText(expected)})`;
      out.push({ check: "MCP registration", ok: same, detail, fix: same ? null : entry ? ANOTHER_FIX : "claudemesh install" });
    }
  } catch (err) {
    out.push(unreadable("MCP registration", err));
  }
  try {
    const settings = readSettings(ctx.env.home);
    const missing = missingHooks(settings, hookLauncher(env));
    const dir = missing.length > 0 ? hooksConfigDir(settings, ctx.env.home, current) : null;
    if (dir !== null) {
      elsewhere ??= dir;
      out.push({ check: "hooks", ok: false, detail: `all installed in ${settingsPath(ctx.env.home)}, ${other(dir)}`, fix: elsewhereFix(dir, current) });
    } else {
      const others = missing.length ? otherLaunchers(settings, hookLauncher(env)) : [];
      // Installed by an older claudemesh with other settings (the wake hook's 1900 s, which ended
      // its wait after 30 minutes): present, but not what this one needs.
      const outdated = missing.length ? [] : outdatedHooks(settings, hookLauncher(env));
      const where = settingsPath(ctx.env.home);
      const detail = outdated.length ? `installed in ${where} by an older claudemesh: ${outdated.join("; ")}` : !missing.length ? "all installed" : others.length ? `installed in ${where} for another claudemesh (${others.join("; ")}), not this one (${hookLauncher(env)})` : `${missing.length} missing in ${where}`;
      const good = missing.length === 0 && outdated.length === 0;
      out.push({ check: "hooks", ok: good, detail, fix: good ? null : others.length ? ANOTHER_FIX : "claudemesh install" });
    }
  } catch (err) {
    out.push(unreadable("hooks", err));
  }
  return { checks: out, elsewhere };
}

export async function run(args: { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    // Claude Code's side first: where it is set up for decides the fix of a missing config.
    const claude = claudeChecks(ctx);
    const local = localChecks(ctx, claude.elsewhere);
    const checks = [...local.checks, ...(local.usable ? await meshChecks(ctx) : []), ...claude.checks];
    const ok = checks.every((c) => c.ok);
    ctx.out.result({ ok, checks }, () => checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.check}: ${c.detail}${c.fix ? `\n     fix: ${c.fix}` : ""}`).join("\n"));
    // A failed check is local state that needs fixing: `refused`, as the README's exit codes say.
    if (!ok) process.exitCode = Exit.refused;
  });
}
