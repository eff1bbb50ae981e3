// A word of a command printed for the user to paste into a shell, when the word holds text that
// someone else chose: the public URL a broker states (over plain http:// anyone on the way can
// write it), an id a broker lists. A broker is untrusted (docs/security.md), and a command line
// that runs `$(…)` when pasted would turn its words into code run as the user.

/** Characters a POSIX shell, zsh and fish take literally in an unquoted word, wherever they stand
 *  (no `=`, which zsh expands at the start of a word, no `~`, globs or quotes). */
const LITERAL = /^[A-Za-z0-9_@%+:,./-]+$/;

/** `text` as one shell word: as it is when every character is literal, else in single quotes (a
 *  quote inside closed, escaped and reopened), so the shell passes it whole and runs nothing. */
export const shellWord = (text: string): string => (LITERAL.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`);
