// The fish script: fish completes options itself from `complete -l/-s` entries, one line per
// option for every path that has it (-x: a value, not a file name; -r -F: a path), and one per
// positional that is a list or a path. Nothing else offers file names (the `-f` line).
import type { Node, Option, Value } from "./tree.ts";

const q = (s: string) => `'${s}'`;

const names = (o: Option) => o.names.map((n) => (n.startsWith("--") ? `-l ${n.slice(2)}` : n.length === 2 ? `-s ${n.slice(1)}` : `-o ${n.slice(1)}`)).join(" ");
const what = (v: Value | null) => (v === null ? "" : v === "files" ? " -r -F" : v === "text" ? " -x" : ` -x -a "${v.words.join(" ")}"`);

const HELPERS = `# The command words typed before the cursor: "send", "topic post", or none yet.
function __claudemesh_cmd
    set -l w (commandline -opc)
    if set -q w[3]; and contains -- "$w[2] $w[3]" SUB_PATHS
        echo "$w[2] $w[3]"
    else if set -q w[2]
        echo $w[2]
    end
end
# At one of the commands given.
function __claudemesh_at
    contains -- "$(__claudemesh_cmd)" $argv
end
# At command cmd's nth positional (0 first): words after it that are neither options nor the
# value of one (the options given after n take one); after a lone "--", every word.
function __claudemesh_nth --argument-names cmd n
    __claudemesh_at "$cmd"; or return
    set -l w (commandline -opc)
    set -l seen 0
    set -l skip 0
    set -l past 0
    for i in (seq (math 2 + (count (string split -n " " -- $cmd))) (count $w))
        if test $skip = 1
            set skip 0
        else if test $past = 0; and test "$w[$i]" = --
            set past 1
        else if test $past = 0; and string match -q -- "-*" $w[$i]
            contains -- $w[$i] $argv[3..]; and set skip 1
        else
            set seen (math $seen + 1)
        end
    end
    test $seen = $n
end
complete -c claudemesh -f`;

export function fish(nodes: Node[]): string {
  const subPaths = nodes.filter((n) => n.path.includes(" ")).map((n) => q(n.path)).join(" ");
  const lines = ["# claudemesh fish completion", HELPERS.replace("SUB_PATHS", subPaths)];
  // Options: one line per option and value, naming every path that has that option.
  const paths = new Map<string, string[]>();
  for (const n of nodes) for (const o of n.options) paths.set(names(o) + what(o.value), [...(paths.get(names(o) + what(o.value)) ?? []), q(n.path)]);
  // An option of every path (--help) needs no condition.
  for (const [option, at] of paths) lines.push(`complete -c claudemesh ${at.length === nodes.length ? "" : `-n "__claudemesh_at ${at.join(" ")}" `}${option}`);
  for (const n of nodes) {
    const valued = n.options.filter((o) => o.value !== null).flatMap((o) => o.names);
    n.positionals.forEach((v, i) => {
      if (v !== "text") lines.push(`complete -c claudemesh -n "${["__claudemesh_nth", q(n.path), i, ...valued].join(" ")}"${v === "files" ? " -F" : ` -a "${v.words.join(" ")}"`}`);
    });
  }
  return lines.join("\n") + "\n";
}
