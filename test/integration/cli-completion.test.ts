// The completion scripts in the real shells (bash, zsh and fish, all Debian packages that .ci/run
// installs): a command in the first position; a command's sub-commands only in the second, right
// after it (`topic <TAB>`, not `topic join <TAB>` again); after `-`, the command's own options;
// after an option or at a positional that is a fixed list, the list (`--priority`, `--role`,
// `status`, `hook`, and each of grant's capabilities); file names for paths (`restore <TAB>` finds the backup, `serve --config`) and
// nothing for free text (`--mesh`, a topic name). For zsh, the file installed as
// ~/.zfunc/_claudemesh completes on its first TAB, when autoloading it is what defines the function.
// `--opt=value` completes the value after the "=" (bash splits that word itself: an interactive
// bash in a pseudo-terminal checks it), and after a lone "--" no word is an option.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const TOPIC_SUBS = "create list join leave history post";

/** The script for `shell`, written to a temp dir that also holds one file to complete. */
async function setUp(shell: string) {
  if (!Bun.which(shell)) throw new Error(`${shell} is not installed: these tests need Debian's \`${shell}\` package (apt-get install ${shell})`);
  const dir = tempDir(`cm-compl-${shell}-`);
  const script = join(dir, shell === "zsh" ? "fn/_claudemesh" : `claudemesh.${shell}`);
  mkdirSync(join(dir, "fn"));
  mkdirSync(join(dir, "files"));
  writeFileSync(join(dir, "files", "backup-7.cmbk"), "");
  writeFileSync(script, ok(await cli(dir, ["completion", shell])).stdout);
  return { dir, script };
}

const run = (argv: string[], cwd: string) => {
  const p = Bun.spawnSync(argv, { cwd, env: { PATH: process.env.PATH!, HOME: cwd, TERM: "dumb" }, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

/** Types each line into `argv` (an interactive shell in a pseudo-terminal) after `setup`, presses
 *  TAB once, then runs the line as `echo <line> = <i>`; returns each line as the shell's output
 *  shows it. Each step waits for its own output (no sleeps); the test's timeout fails a hang. */
async function typeInPty(argv: string[], cwd: string, setup: string, lines: string[]): Promise<string[]> {
  let out = "";
  let seen: (() => void) | null = null;
  await using terminal = new Bun.Terminal({ cols: 200, data: (_t, d) => ((out += new TextDecoder().decode(d)), seen?.()) });
  const shell = Bun.spawn(argv, { cwd, env: { PATH: process.env.PATH!, HOME: cwd, TERM: "dumb" }, terminal });
  const waitFor = (re: RegExp) => new Promise<RegExpExecArray>((ok) => ((seen = () => { const m = re.exec(out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")); if (m) ok(m); }), seen()));
  terminal.write(`${setup}; echo ready=$((6*7))\n`);
  await waitFor(/ready=42/);
  const shown: string[] = [];
  for (const [i, line] of lines.entries()) {
    terminal.write(`${line}\t\x01echo \x05 = $((1000+${i}))\n`);
    shown.push((await waitFor(new RegExp(`(?:^|\\n)([^\\n]*?) *= ${1000 + i}\\r?\\n`)))[1]!.replace(/^.*\r/, ""));
  }
  // An interactive bash ignores SIGTERM.
  terminal.write("exit\n");
  await shell.exited;
  return shown;
}

describe("shell completion", () => {
  test("bash: commands, sub-commands, options and their values; file names only for paths", async () => {
    const { dir, script } = await setUp("bash");
    // compopt only works inside a real completion: the stub records that file names were turned off.
    const probe = `source '${script}'
compopt() { nofiles=" (no files)"; }
t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); nofiles=; _claudemesh; echo "\${COMPREPLY[*]}$nofiles"; }
t claudemesh to; t claudemesh topic ""; t claudemesh topic join ""; t claudemesh restore ""; t claudemesh serve --config ""; t claudemesh help to
t claudemesh --; t claudemesh send --; t claudemesh invite list --; t claudemesh send --priority ""; t claudemesh topic post -p n; t claudemesh invite --role ""
t claudemesh serve --log-level w; t claudemesh send --mesh ""; t claudemesh status -m x ""; t claudemesh status dnd ""; t claudemesh admin restore --data-dir ""
t claudemesh send --priority =; t claudemesh send --priority = n; t claudemesh status --mesh = x ""; t claudemesh send --json = ""; t claudemesh invite --role = a
t claudemesh send bob -- -; t claudemesh send bob -- --priority ""; t claudemesh status -- ""; t claudemesh status -- -x ""; t claudemesh restore -- -
t claudemesh grant bob ""; t claudemesh revoke -m x bob b; t claudemesh hook s; t claudemesh completion ""; t claudemesh grant bob dm t
complete -p claudemesh`;
    const r = run(["bash", "--norc", "--noprofile", "-c", probe], dir);
    expect({ code: r.code, err: r.err, lines: r.out.split("\n") }).toEqual({
      code: 0,
      err: "",
      lines: [
        "topic", TOPIC_SUBS, " (no files)", "", "", "topic",
        "--help --version", "--priority --client-message-id --mesh --json --help", "--mesh --all --json --help", "now next low", "now next", "member admin",
        "warn", " (no files)", "idle working dnd", " (no files)", "",
        "now next low", "now next", "idle working dnd", " (no files)", "admin",
        " (no files)", " (no files)", "idle working dnd", " (no files)", "",
        "dm broadcast group topic all", "broadcast", "session-start stop session-end", "bash zsh fish", "topic",
        "complete -o default -F _claudemesh claudemesh", "",
      ],
    });
  }, 30_000);

  test("bash, typed in an interactive shell: --opt=value completes the value; after -- nothing is an option", async () => {
    const { dir, script } = await setUp("bash");
    // What bash itself makes of a line (it splits "--priority=no" at the "="), which the probe
    // above can only imitate: each line gets one TAB, then runs as `echo … = <n>`, so the output
    // line ending in "= <n>" shows the line as the completion left it.
    const lines = ["claudemesh send --priority=no", "claudemesh serve --log-level=w", "claudemesh status --mesh=x d", "claudemesh invite --role=a", "claudemesh send bob -- --pri", "claudemesh status -- -x d"];
    const shown = await typeInPty(["bash", "--norc", "--noprofile", "-i"], dir, `PS1='$ '; bind 'set bell-style none'; source '${script}'`, lines);
    expect(shown).toEqual([
      "claudemesh send --priority=now", "claudemesh serve --log-level=warn", "claudemesh status --mesh=x dnd", "claudemesh invite --role=admin",
      "claudemesh send bob -- --pri", "claudemesh status -- -x d",
    ]);
  }, 30_000);

  test("fish: sub-commands only right after their command; options and their values; file names only for paths", async () => {
    const { dir, script } = await setUp("fish");
    const cases = ["claudemesh to", "claudemesh topic ", "claudemesh topic join ", "claudemesh restore ", "claudemesh send --", "claudemesh send --priority ", "claudemesh topic post -p ", "claudemesh invite --role ", "claudemesh serve --config ", "claudemesh send --mesh ", "claudemesh status -m x ", "claudemesh status dnd ", "claudemesh send --priority=n", "claudemesh status --mesh=x ", "claudemesh send bob -- --", "claudemesh status -- -x ", "claudemesh grant bob dm ", "claudemesh hook s"];
    const probe = [`source '${script}'`, ...cases.map((c) => `complete -C '${c}'; echo '#'`)].join("\n");
    const r = run(["fish", "--no-config", "-c", probe], join(dir, "files"));
    expect({ code: r.code, err: r.err, answers: r.out.split("#\n").map((a) => a.trim().split("\n")) }).toEqual({
      code: 0,
      err: "",
      answers: [
        ["topic"], TOPIC_SUBS.split(" ").sort(), [""], ["backup-7.cmbk"],
        ["--client-message-id", "--help", "--json", "--mesh", "--priority"], ["low", "next", "now"], ["low", "next", "now"], ["admin", "member"],
        ["backup-7.cmbk"], [""], ["dnd", "idle", "working"], [""],
        ["--priority=next", "--priority=now"], ["dnd", "idle", "working"], [""], [""],
        ["all", "broadcast", "dm", "group", "topic"], ["session-end", "session-start", "stop"], [""],
      ],
    });
  }, 30_000);

  test("zsh: autoloaded from fpath, the first TAB completes; sub-commands once; options and their values; file names only for paths", async () => {
    const { dir } = await setUp("zsh");
    // An interactive zsh in a pseudo-terminal (zsh/zpty), typing as a person does: each read waits
    // until the pattern shows (no sleeps); the spawn's timeout fails a completion that never comes.
    const drive = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=(${dir}/fn \\$fpath); autoload -Uz compinit; compinit -u -d ${dir}/zcompdump; cd ${dir}/files; print ready"
zpty -r z out '*ready*'
step() { zpty -w -n z "$1"$'\\t'; zpty -r z out "*$2*"; print -r -- "$1 -> $2"; zpty -w -n z $'\\C-u'; }
# The line after one TAB, run as \`print\` so the shell's output (42, not the typed 6*7) says when it is there.
line() { zpty -w -n z "$1"$'\\t\\C-a'"print -r -- "$'\\C-e'" = \\$((6*7))"$'\\n'; zpty -r z out "*= 42*"; print -r -- "$1 -> \${\${\${(f)out}[-1]% = 42*}##*$'\\r'}"; }
step 'claudemesh topic ' 'history'
step 'claudemesh restore ' 'backup-7.cmbk'
step 'claudemesh rest' 'restore'
step 'claudemesh send --priority ' 'next'
step 'claudemesh invite --role ' 'member'
step 'claudemesh status -m x ' 'working'
line 'claudemesh send --cl'
line 'claudemesh topic post -p l'
line 'claudemesh serve --config b'
line 'claudemesh send --mesh b'
line 'claudemesh topic join b'
line 'claudemesh send --priority=no'
line 'claudemesh serve --log-level=w'
line 'claudemesh status --mesh=x d'
line 'claudemesh send bob -- --pri'
line 'claudemesh status -- -x d'
line 'claudemesh revoke bob dm b'
line 'claudemesh hook session-s'
zpty -d z`;
    const r = run(["zsh", "-f", "-c", drive], dir);
    expect({ code: r.code, err: r.err, out: r.out }).toEqual({
      code: 0,
      err: "",
      out: [
        "claudemesh topic  -> history", "claudemesh restore  -> backup-7.cmbk", "claudemesh rest -> restore",
        "claudemesh send --priority  -> next", "claudemesh invite --role  -> member", "claudemesh status -m x  -> working",
        "claudemesh send --cl -> claudemesh send --client-message-id", "claudemesh topic post -p l -> claudemesh topic post -p low", "claudemesh serve --config b -> claudemesh serve --config backup-7.cmbk",
        "claudemesh send --mesh b -> claudemesh send --mesh b", "claudemesh topic join b -> claudemesh topic join b",
        "claudemesh send --priority=no -> claudemesh send --priority=now", "claudemesh serve --log-level=w -> claudemesh serve --log-level=warn", "claudemesh status --mesh=x d -> claudemesh status --mesh=x dnd",
        "claudemesh send bob -- --pri -> claudemesh send bob -- --pri", "claudemesh status -- -x d -> claudemesh status -- -x d",
        "claudemesh revoke bob dm b -> claudemesh revoke bob dm broadcast", "claudemesh hook session-s -> claudemesh hook session-start", "",
      ].join("\n"),
    });
  }, 30_000);
});
