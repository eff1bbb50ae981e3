// A command line as one string a POSIX shell reads back as the same words: hook commands in
// Claude Code's settings, and commands the CLI prints for the user to run. Defined in config/, where
// the broker's messages use it too.
export { shellCommand } from "../config/command-line.ts";
