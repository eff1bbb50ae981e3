// claudemesh install / uninstall: register the MCP server for the user and add our hooks to
// ~/.claude/settings.json. Running install twice changes nothing the second time; uninstall
// removes exactly what install added.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { configDirOf } from "../../config/client.ts";
import { configDirEnv, hookLauncher, launcher } from "../claude-code/launcher.ts";
import { entryIn, readClaudeJson, register, unregister, type ServerEntry } from "../claude-code/mcp-registration.ts";
import { assertClaudeFilesWritable, beforeAnyChange, readSettings, settingsPath, writeJsonIfChanged } from "../claude-code/claude-files.ts";
import { hasOurHooks, removeOurHooks, withOurHooks } from "../claude-code/hooks-settings.ts";
import { keptFrom, labelIn, type Kept } from "../claude-code/kept-choices.ts";
import { command } from "../context.ts";
import { checkSessionLabel } from "../display-name.ts";
import { shellCommand } from "../../config/command-line.ts";

export const CHANNELS_HINT = "claude --dangerously-load-development-channels server:claudemesh";

/** Claude Code's two files, read and checked writable before either is changed, after what
 *  `first` reads (install: claudemesh's own config, whose refusal, a config directory others can
 *  read, came after Claude Code's files had been written). Any refusal says "Nothing was changed." */
const readBoth = <T extends object>(home: string, first: () => T = () => ({}) as T) =>
  beforeAnyChange(() => {
    const ours = first();
    const read = { settings: readSettings(home), claudeJson: readClaudeJson(home) };
    assertClaudeFilesWritable(home);
    return { ...ours, ...read };
  });

/** The config directory the registration replaced by `install` had used, when it is not the one
 *  installed now: one registration per user, so a second config directory silently took the
 *  first one's place. Null otherwise (none before, or the same directory). */
function replacedConfigDir(previous: ServerEntry | null, configDir: string, home: string): string | null {
  if (previous === null) return null;
  const named = previous.env?.CLAUDEMESH_CONFIG_DIR;
  const before = resolve(configDirOf({ HOME: home, CLAUDEMESH_CONFIG_DIR: typeof named === "string" ? named : undefined }));
  return before === resolve(configDir) ? null : before;
}

/** What the previous registration started (its command and the arguments before `mcp`), when it
 *  is not what this claudemesh registers now (`argv`): another binary, or another checkout. Null
 *  when the same, or when the entry is of a shape install never writes. */
function replacedLauncher(previous: ServerEntry | null, argv: readonly string[]): string | null {
  if (previous === null || typeof previous.command !== "string") return null;
  const args = Array.isArray(previous.args) ? previous.args : [];
  const before = [previous.command, ...(args.includes("mcp") ? args.slice(0, args.indexOf("mcp")) : args)];
  return shellCommand(before) === shellCommand(argv) ? null : shellCommand(before);
}

/** The first line: registered anew, replacing a previous registration (from which launcher when
 *  another one), or unchanged. */
function registeredLine(via: string | null, replaced: boolean, fromLauncher: string | null, argv: readonly string[]): string {
  if (via === null) return "The claudemesh MCP server was already registered.";
  if (!replaced) return `Registered the claudemesh MCP server for your user (${via}).`;
  const from = fromLauncher ? `, which ran ${fromLauncher}: Claude Code sessions started from now on run ${shellCommand(argv)}` : "";
  return `Re-registered the claudemesh MCP server for your user (${via}), replacing the previous registration${from}.`;
}

/** The lines that say what the previous registration's choices became: kept, replaced, dropped. */
function keptLines(kept: Kept, given: string | undefined, previousLabel: string | null): string[] {
  const env = Object.entries(kept.env).map(([k, v]) => `${k}=${v}`);
  return [
    ...(kept.label ? [`Kept the label "${kept.label}" from the previous registration (claudemesh install --label <name> gives another).`] : []),
    ...(kept.unusableLabel ? [`Dropped the previous registration's label: ${kept.unusableLabel}.`] : []),
    ...(given !== undefined && previousLabel !== null && previousLabel !== given ? [`Replaced the label "${previousLabel}" with "${given}".`] : []),
    ...(env.length ? [`Kept the MCP server's environment from the previous registration: ${env.join(" ")}.`] : []),
  ];
}

export async function install(args: { label?: string; json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    // Checked before anything is written: the label lands in Claude Code's config and peers' lists.
    const given = args.label === undefined ? undefined : checkSessionLabel(args.label);
    const argv = launcher();
    // Our config and both files are read (and refused if unsafe, malformed or unwritable) before
    // either file is written: no half install.
    const path = settingsPath(ctx.env.home);
    const { settings, claudeJson, meshes } = readBoth(ctx.env.home, () => ({ meshes: ctx.config().meshes.map((m) => m.slug) }));
    // A re-run (to repair hooks, from another shell) keeps the user's own choices in the entry it
    // replaces; a --label given now replaces the old one (kept-choices.ts).
    const previous = entryIn(claudeJson);
    const kept = keptFrom(previous, given);
    const label = given ?? kept.label;
    const env = { ...kept.env, ...configDirEnv(ctx.env.configDir, ctx.env.home) };
    const entry = { type: "stdio" as const, command: argv[0]!, args: [...argv.slice(1), "mcp", ...(label ? ["--label", label] : [])], env };
    const via = register(ctx.env.home, entry, claudeJson);
    const replacedDir = via === null ? null : replacedConfigDir(previous, ctx.env.configDir, ctx.env.home);
    const fromLauncher = via === null ? null : replacedLauncher(previous, argv);
    const hadSettings = existsSync(path);
    // Ours already there but not as this claudemesh writes them (an older install's timeouts).
    const hadOurs = hasOurHooks(settings);
    const hooksChanged = writeJsonIfChanged(path, withOurHooks(settings, hookLauncher(configDirEnv(ctx.env.configDir, ctx.env.home))));
    const keptJson = { label: kept.label, env: Object.keys(kept.env) };
    ctx.out.result({ mcp: { registered: true, changed: via !== null, via, replaced: via !== null && previous !== null, replacedLauncher: fromLauncher, replacedConfigDir: replacedDir, kept: keptJson }, hooks: { path, changed: hooksChanged }, meshes, channels: CHANNELS_HINT }, () =>
      [
        registeredLine(via, previous !== null, fromLauncher, argv),
        ...keptLines(kept, given, labelIn(previous?.args)),
        ...(replacedDir ? [`Replaced the registration that used ${replacedDir}: Claude Code sessions started from now on use ${resolve(ctx.env.configDir)}.`] : []),
        hooksChanged ? `${hadOurs ? "Updated claudemesh hooks in" : "Added claudemesh hooks to"} ${path}${hadSettings ? " (the previous file is saved as settings.json.claudemesh-backup)" : ""}.` : `Hooks already in ${path}.`,
        meshes.length ? `Sessions will join: ${meshes.join(", ")}.` : "You have not joined a mesh yet: claudemesh join - (then paste the link), or claudemesh new.",
        ...(env.CLAUDEMESH_CONFIG_DIR ? [`Claude Code sessions use the config directory ${env.CLAUDEMESH_CONFIG_DIR} (passed on as CLAUDEMESH_CONFIG_DIR).`] : []),
        "",
        "Start Claude Code as usual; messages arrive through hooks and the mesh_inbox tool.",
        `For instant push into a running session, start it with channels: ${CHANNELS_HINT}`,
        "Check everything with: claudemesh doctor",
      ].join("\n"),
    );
  });
}

export async function uninstall(args: { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const path = settingsPath(ctx.env.home);
    const { settings, claudeJson } = readBoth(ctx.env.home);
    const removed = unregister(ctx.env.home, claudeJson);
    const hooksChanged = writeJsonIfChanged(path, removeOurHooks(settings));
    ctx.out.result({ mcp: { removed }, hooks: { path, changed: hooksChanged } }, () =>
      [removed ? "Removed the claudemesh MCP server." : "No claudemesh MCP server was registered.", hooksChanged ? `Removed claudemesh hooks from ${path} (the previous file is saved as settings.json.claudemesh-backup).` : "No claudemesh hooks were installed.", `Your meshes and keys in ${ctx.env.configDir} are untouched (claudemesh leave removes a mesh).`].join("\n"),
    );
  });
}
