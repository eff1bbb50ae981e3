// The completion scripts in the real shells (bash, zsh and fish, all Debian packages that .ci/run
// installs): a command in the first position; a command's sub-commands only in the second, right
// after it (`topic <TAB>`, not `topic join <TAB>` again); file names everywhere else (`restore
// <TAB>` finds the backup). For zsh, the file installed as ~/.zfunc/_claudemesh completes on its
// first TAB, when autoloading it is what defines the function.
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

describe("shell completion", () => {
  test("bash: commands first, sub-commands second, nothing (so file names, -o default) elsewhere", async () => {
    const { dir, script } = await setUp("bash");
    const probe = `source '${script}'
t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _claudemesh; echo "\${COMPREPLY[*]}"; }
t claudemesh to; t claudemesh topic ""; t claudemesh topic join ""; t claudemesh restore ""; t claudemesh serve --config ""; t claudemesh help to
complete -p claudemesh`;
    const r = run(["bash", "--norc", "--noprofile", "-c", probe], dir);
    expect({ code: r.code, err: r.err, lines: r.out.split("\n") }).toEqual({
      code: 0,
      err: "",
      lines: ["topic", TOPIC_SUBS, "", "", "", "topic", "complete -o default -F _claudemesh claudemesh", ""],
    });
  }, 30_000);

  test("fish: sub-commands only right after their command; file names elsewhere", async () => {
    const { dir, script } = await setUp("fish");
    const cases = ["claudemesh to", "claudemesh topic ", "claudemesh topic join ", "claudemesh restore "];
    const probe = [`source '${script}'`, ...cases.map((c) => `complete -C '${c}'; echo '#'`)].join("\n");
    const r = run(["fish", "--no-config", "-c", probe], join(dir, "files"));
    expect({ code: r.code, err: r.err, answers: r.out.split("#\n").map((a) => a.trim().split("\n")) }).toEqual({
      code: 0,
      err: "",
      answers: [["topic"], TOPIC_SUBS.split(" ").sort(), ["backup-7.cmbk"], ["backup-7.cmbk"], [""]],
    });
  }, 30_000);

  test("zsh: autoloaded from fpath, the first TAB completes; sub-commands once; file names elsewhere", async () => {
    const { dir } = await setUp("zsh");
    // An interactive zsh in a pseudo-terminal (zsh/zpty), typing as a person does: each read waits
    // until the pattern shows (no sleeps); the spawn's timeout fails a completion that never comes.
    const drive = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=(${dir}/fn \\$fpath); autoload -Uz compinit; compinit -u -d ${dir}/zcompdump; cd ${dir}/files; print ready"
zpty -r z out '*ready*'
step() { zpty -w -n z "$1"$'\\t'; zpty -r z out "*$2*"; print -r -- "$1 -> $2"; zpty -w -n z $'\\C-u'; }
step 'claudemesh topic ' 'history'
step 'claudemesh topic join ' 'backup-7.cmbk'
step 'claudemesh restore ' 'backup-7.cmbk'
step 'claudemesh rest' 'restore'
zpty -d z`;
    const r = run(["zsh", "-f", "-c", drive], dir);
    expect({ code: r.code, err: r.err, out: r.out }).toEqual({
      code: 0,
      err: "",
      out: ["claudemesh topic  -> history", "claudemesh topic join  -> backup-7.cmbk", "claudemesh restore  -> backup-7.cmbk", "claudemesh rest -> restore", ""].join("\n"),
    });
  }, 30_000);
});
