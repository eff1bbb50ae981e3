// The events `claudemesh hook <event>` handles, defined once for its --help, the completions and
// its own check (commands/hook.ts); hooks-settings.ts registers each with Claude Code.
export const HOOK_EVENTS = ["session-start", "user-prompt-submit", "stop", "session-end", "wait"] as const;
