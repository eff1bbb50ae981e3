// What the CLI prints for `--help` and for a command line citty refuses (an unknown command, a
// missing argument, an undeclared option): plain text unless both streams are a terminal, the
// command's own `--help` to look at, "did you mean" for a near miss, and for a word that starts
// with "-" and is no option, the same command line with `--` where it belongs.
import { renderUsage, type ArgsDef, type CommandDef } from "citty";
import { clientEnv, processEnv } from "../config/client.ts";
import { shellCommand } from "../config/command-line.ts";
import { closest } from "../did-you-mean.ts";
import { VERSION } from "../version.ts";
import { refuseStrayWords, splitWords } from "./flags-check.ts";
import { exitFlushed, helpFix, plain, writeStdout } from "./output.ts";

type Command = CommandDef<ArgsDef>;
type CittyError = Error & { code?: string; word?: string; mayBeText?: boolean };

const subCommandsOf = (cmd: Command) => (cmd.subCommands ?? {}) as Record<string, Command>;

/** The command words at the start of argv (`topic post`), the command they name, and its own
 *  words (what follows them). Options before a command word are skipped, as citty skips them. */
export function commandAt(root: Command, argv: readonly string[]): { path: string[]; cmd: Command; words: string[] } {
  let cmd = root;
  const path: string[] = [];
  let own = 0;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") break;
    if (word.startsWith("-")) continue;
    const next = subCommandsOf(cmd)[word];
    if (!next) break;
    cmd = next;
    path.push(word);
    own = i + 1;
  }
  return { path, cmd, words: argv.slice(own) };
}

const sentence = (text: string) => (/[.?!]$/.test(text) ? text : `${text}.`);

/** The message for a usage error citty (or flags-check) threw while running `argv`, and its fix:
 *  the failing command's --help, on a line of its own like every error's fix (output.ts). */
export function usageMessage(err: CittyError, argv: readonly string[], root: Command): { message: string; fix: string } {
  if (argv[0]?.startsWith("-") && argv[0] !== "--") return { message: beforeCommand(argv[0], root), fix: helpFix(undefined) };
  const { path, cmd, words } = commandAt(root, argv);
  const fix = helpFix(path.join(" ") || undefined);
  // citty checks required arguments before any command code runs: `new --bogus` would be refused
  // for its missing NAME, though the word the user got wrong is the option.
  if (err.code === "EARG") err = strayOption(words, cmd) ?? err;
  const names = Object.keys(subCommandsOf(cmd));
  if (err.code === "E_UNKNOWN_COMMAND") {
    const word = words.find((w) => !w.startsWith("-")) ?? "";
    const near = closest(word, names);
    const where = path.length ? ` of \`claudemesh ${path.join(" ")}\`` : "";
    return { message: `Unknown command "${word}"${where}${near ? ` (did you mean \`${near}\`?)` : ""}.`, fix };
  }
  if (err.code === "E_NO_COMMAND") return { message: `\`${["claudemesh", ...path].join(" ")}\` needs a command${path.length ? `: ${names.join(", ")}` : ""}.`, fix };
  return { message: `${sentence(plain(err.message))}${dashHint(err, path, cmd, words)}`, fix };
}

/** The usage error for the first undeclared option among a command's words, if there is one. */
function strayOption(words: readonly string[], cmd: Command): CittyError | null {
  try {
    refuseStrayWords(words, (cmd.args ?? {}) as ArgsDef);
    return null;
  } catch (e) {
    return e as CittyError;
  }
}

/** An option before any command (`claudemesh --prio now send …`): claudemesh itself has none but
 *  --help and --version, so say where options go, and which one of some command was meant. */
function beforeCommand(word: string, root: Command): string {
  const name = word.split("=")[0]!.replace(/^-+/, "");
  const all = [...new Set(Object.values(subCommandsOf(root)).flatMap((c) => Object.entries((c.args ?? {}) as ArgsDef).filter(([, a]) => a.type !== "positional").map(([n]) => n)))];
  const near = closest(name, all);
  return `"${word}" comes before any command; options go after the command they belong to${near ? ` (did you mean \`claudemesh <command> … --${near}\`?)` : ""}.`;
}

/** For a word that starts with "-" but is no option of the command (message text, an old id
 *  beginning with "-"): the command line that passes it as text, after "--". */
function dashHint(err: CittyError, path: string[], cmd: Command, words: string[]): string {
  const args = (cmd.args ?? {}) as ArgsDef;
  if (!Object.values(args).some((a) => a.type === "positional")) return "";
  // A long option with a near miss was a typo (the message says which), not text; nor is an
  // option given a value wrongly (`--yes=no`).
  if ((err.word?.startsWith("--") && err.message.includes("did you mean")) || err.mayBeText === false) return "";
  const { options, positionals, unknown } = splitWords(words, args);
  if (!unknown) return "";
  const at = positionals.indexOf(unknown.word);
  const fixed = ["claudemesh", ...path, ...positionals.slice(0, at), ...options, "--", ...positionals.slice(at)];
  return ` An argument that starts with "-" goes after "--": ${shellCommand(fixed)}.`;
}

/** citty's first line ends with the command's name and version in parentheses, from its parent:
 *  a subcommand's reads "(invite list)", without claudemesh or the version, which the group it
 *  is in does not carry. Completed as a top-level command's: "(claudemesh invite list v0.1.0)". */
const fullTitle = (text: string) => text.replace(/^([^\n]*)\((?!claudemesh\b)([a-z][a-z -]*)\)((?:\x1b\[[0-9;]*m)*)$/m, `$1(claudemesh $2 v${VERSION})$3`);

/** Prints a command's help on stdout: coloured only for a terminal (and not under NO_COLOR or CI),
 *  without the spaces citty pads the last column with. citty names a command by its parent's name
 *  alone, so `topic post` would read "USAGE topic post": every usage line starts with claudemesh. */
export async function printUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  const text = fullTitle(await renderUsage(cmd, parent)).replace(/^((?:\x1b\[[0-9;]*m)*USAGE(?:\x1b\[[0-9;]*m)*\s+(?:\x1b\[[0-9;]*m)*)(?!(?:\x1b\[[0-9;]*m)*claudemesh\b)/m, "$1claudemesh ");
  const colour = Boolean(process.stdout.isTTY) && clientEnv(processEnv()).interactive;
  // citty exits 0 after the help: a failed write is reported (exitFlushed) before it can.
  if (!(await writeStdout((colour ? text : plain(text)).replace(/[ \t]+$/gm, "") + "\n"))) await exitFlushed(0);
}
