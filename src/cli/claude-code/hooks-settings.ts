// Our hooks in Claude Code's ~/.claude/settings.json, as pure edits of the parsed JSON. Every
// command we add ends with the marker comment, so uninstall removes exactly our entries and
// nothing the user wrote; install is a no-op when the same entries are already there.

import { WAKE_HOOK_TIMEOUT_S } from "../../mcp/wake-wait.ts";

export const MARKER = "# claudemesh-hook";

type HookCommand = { type: "command"; command: string; timeout?: number; asyncRewake?: boolean };
type MatcherGroup = { matcher?: string; hooks: HookCommand[] };
export type Settings = Record<string, unknown> & { hooks?: Record<string, MatcherGroup[]> };

/** Event → our hook commands (the `hook` sub-command's event names). */
export const OUR_HOOKS: Record<string, { event: string; timeout: number; asyncRewake?: boolean }[]> = {
  SessionStart: [{ event: "session-start", timeout: 10 }],
  UserPromptSubmit: [{ event: "user-prompt-submit", timeout: 10 }],
  // `wait` blocks in the background until a peer message arrives, then wakes the idle session:
  // for as long as the session is idle (wake-wait.ts; installs before session 38 gave it 1900 s).
  Stop: [{ event: "stop", timeout: 10 }, { event: "wait", timeout: WAKE_HOOK_TIMEOUT_S, asyncRewake: true }],
  SessionEnd: [{ event: "session-end", timeout: 5 }],
};

export const isOurs = (h: { command?: unknown }) => typeof h.command === "string" && h.command.trimEnd().endsWith(MARKER);

/** Whether any of our entries is in `settings` (a shape `hooksShapeError` accepts). */
export const hasOurHooks = (settings: Settings) => Object.values(settings.hooks ?? {}).some((gs) => gs.some((g) => g.hooks.some(isOurs)));

export function hookCommand(binary: string, event: string): string {
  return `${binary} hook ${event} ${MARKER}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The first place where `settings.hooks` is not the shape Claude Code reads (an object of event →
 *  list of matcher groups, each with a list of hook objects), as a key path; null when it is.
 *  Checked before anything is written: the edits below would otherwise crash halfway. */
export function hooksShapeError(settings: Record<string, unknown>): string | null {
  if (!("hooks" in settings)) return null;
  if (!isObject(settings.hooks)) return "hooks is not an object of hook events";
  for (const [event, groups] of Object.entries(settings.hooks)) {
    const at = `hooks.${event}`;
    if (!Array.isArray(groups)) return `${at} is not a list of matcher groups`;
    for (const [i, g] of groups.entries()) {
      if (!isObject(g)) return `${at}[${i}] is not a matcher group object`;
      if (!Array.isArray(g.hooks)) return `${at}[${i}].hooks is not a list of hooks`;
      const bad = g.hooks.findIndex((h) => !isObject(h));
      if (bad >= 0) return `${at}[${i}].hooks[${bad}] is not a hook object`;
    }
  }
  return null;
}

/** Settings without any of our entries (groups and events left empty by that removed); everything
 *  else kept as it was, to the object. Expects a shape `hooksShapeError` accepts. */
export function removeOurHooks(settings: Settings): Settings {
  if (!settings.hooks) return settings;
  const hooks: Record<string, MatcherGroup[]> = {};
  for (const [event, groups] of Object.entries(settings.hooks)) {
    if (!groups.some((g) => g.hooks.some(isOurs))) {
      hooks[event] = groups;
      continue;
    }
    const kept = groups.flatMap((g) => {
      if (!g.hooks.some(isOurs)) return [g];
      const left = g.hooks.filter((h) => !isOurs(h));
      return left.length > 0 ? [{ ...g, hooks: left }] : [];
    });
    if (kept.length > 0) hooks[event] = kept;
  }
  const { hooks: _, ...rest } = settings;
  return Object.keys(hooks).length > 0 || Object.keys(settings.hooks).length === 0 ? { ...rest, hooks } : rest;
}

/** Settings with exactly our current entries (old ones of ours replaced). */
export function withOurHooks(settings: Settings, binary: string): Settings {
  const base = removeOurHooks(settings);
  const hooks: Record<string, MatcherGroup[]> = { ...(base.hooks ?? {}) };
  for (const [event, specs] of Object.entries(OUR_HOOKS)) {
    const group: MatcherGroup = { hooks: specs.map((s) => ({ type: "command", command: hookCommand(binary, s.event), timeout: s.timeout, ...(s.asyncRewake ? { asyncRewake: true } : {}) })) };
    hooks[event] = [...(hooks[event] ?? []), group];
  }
  return { ...base, hooks };
}

/** Which of our hook commands are missing or point at another binary. */
export function missingHooks(settings: Settings, binary: string): string[] {
  const present = new Set(Object.values(settings.hooks ?? {}).flatMap((gs) => gs.flatMap((g) => g.hooks.map((h) => h.command))));
  return Object.values(OUR_HOOKS)
    .flat()
    .map((s) => hookCommand(binary, s.event))
    .filter((c) => !present.has(c));
}

/** Our hook commands for `binary` that are installed but not as this claudemesh installs them (an
 *  older install's timeout, asyncRewake dropped), each as "<event> <timeout> s, not <timeout> s"
 *  or "<event> without asyncRewake": `claudemesh install` rewrites them. */
export function outdatedHooks(settings: Settings, binary: string): string[] {
  const installed = Object.values(settings.hooks ?? {}).flatMap((gs) => gs.flatMap((g) => g.hooks));
  return Object.values(OUR_HOOKS)
    .flat()
    .flatMap((s) => {
      const h = installed.find((x) => x.command === hookCommand(binary, s.event));
      if (!h) return [];
      const time = h.timeout === s.timeout ? [] : [`hook ${s.event}'s timeout is ${h.timeout ?? "Claude Code's default"}${typeof h.timeout === "number" ? " s" : ""}, not ${s.timeout} s`];
      const rewake = (h.asyncRewake === true) === (s.asyncRewake === true) ? [] : [`hook ${s.event} ${s.asyncRewake ? "is not" : "is"} asyncRewake`];
      return [...time, ...rewake];
    });
}

/** The launchers (what comes before ` hook <event> # claudemesh-hook`) of our hooks other than
 *  `binary`: hooks another claudemesh installed (an older install in another place, a checkout),
 *  which doctor names rather than calling them missing. */
export function otherLaunchers(settings: Settings, binary: string): string[] {
  const tail = / hook [a-z-]+ # claudemesh-hook\s*$/;
  const ours = Object.values(settings.hooks ?? {}).flatMap((gs) => gs.flatMap((g) => g.hooks.filter(isOurs).map((h) => h.command.replace(tail, ""))));
  return [...new Set(ours)].filter((l) => l !== binary);
}
