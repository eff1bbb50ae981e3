// The shells `claudemesh completion <shell>` writes a script for, defined once for its --help, the
// completions and its own check (commands/completion.ts, which has a script for each).
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];
