// A command line as one string a POSIX shell reads back as the same words: hook commands in
// Claude Code's settings, and commands the CLI prints for the user to run.

/** `argv` joined with spaces, each word single-quoted unless it is plainly safe. */
export const shellCommand = (argv: readonly string[]) => argv.map((a) => (/^[A-Za-z0-9_./:@=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
