// Our hooks in Claude Code's ~/.claude/settings.json, as pure edits of the parsed JSON. Every
// command we add ends with the marker comment, so uninstall removes exactly our entries and
// nothing the user wrote; install is a no-op when the same entries are already there.

export const MARKER = "# claudemesh-hook";

type HookCommand = { type: "command"; command: string; timeout?: number; asyncRewake?: boolean };
type MatcherGroup = { matcher?: string; hooks: HookCommand[] };
export type Settings = Record<string, unknown> & { hooks?: Record<string, MatcherGroup[]> };

/** Event → our hook commands (the `hook` sub-command's event names). */
export const OUR_HOOKS: Record<string, { event: string; timeout: number; asyncRewake?: boolean }[]> = {
  SessionStart: [{ event: "session-start", timeout: 10 }],
  UserPromptSubmit: [{ event: "user-prompt-submit", timeout: 10 }],
  // `wait` blocks in the background until a peer message arrives, then wakes the idle session.
  Stop: [{ event: "stop", timeout: 10 }, { event: "wait", timeout: 1900, asyncRewake: true }],
  SessionEnd: [{ event: "session-end", timeout: 5 }],
};

export const isOurs = (h: { command?: unknown }) => typeof h.command === "string" && h.command.trimEnd().endsWith(MARKER);

export function hookCommand(binary: string, event: string): string {
  return `${binary} hook ${event} ${MARKER}`;
}

/** Settings without any of our entries (empty groups and events removed); everything else kept. */
export function removeOurHooks(settings: Settings): Settings {
  if (!settings.hooks) return settings;
  const hooks: Record<string, MatcherGroup[]> = {};
  for (const [event, groups] of Object.entries(settings.hooks)) {
    const kept = groups.map((g) => ({ ...g, hooks: g.hooks.filter((h) => !isOurs(h)) })).filter((g) => g.hooks.length > 0);
    if (kept.length > 0) hooks[event] = kept;
  }
  const { hooks: _, ...rest } = settings;
  return Object.keys(hooks).length > 0 ? { ...rest, hooks } : rest;
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
