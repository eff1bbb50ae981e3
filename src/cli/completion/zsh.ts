// The zsh script: the same tables as bash, with compadd and _files. One file serves
// `source <(claudemesh completion zsh)` (registers with compdef) and ~/.zfunc/_claudemesh
// autoloaded through #compdef, where the file is the body of _claudemesh: its first run must
// complete too, not only define the function (funcstack tells them apart).
import type { Node } from "./tree.ts";
import { optionArms, positionalArms, subPaths, valueArms, type Actions } from "./tables.ts";

const act: Actions = { words: (w) => `compadd -- ${w.join(" ")}`, files: "_files", text: ":" };

export function zsh(nodes: Node[]): string {
  // $words[1] is claudemesh; `cmd`, not `path`, which zsh ties to $PATH.
  return `#compdef claudemesh
_claudemesh() {
  local prev=$words[CURRENT-1] cmd= at=2 opts= flags= n=0 past= i
  # The command words before the cursor ("send", "topic post", none yet) and where its own start.
  if (( CURRENT > 2 )); then cmd=$words[2] at=3; fi
  if (( CURRENT > 3 )); then
    case "$cmd $words[3]" in ${subPaths(nodes)}) cmd+=" $words[3]" at=4;; esac
  fi
  case $cmd in
${optionArms(nodes, "    ")}
  esac
  # Count the positionals before the cursor: words that are neither options nor an option's
  # value; after a lone "--" every word is one (text, not options).
  for ((i = at; i < CURRENT; i++)); do
    if [[ -n $past ]]; then ((n++))
    elif [[ $words[i] == -- ]]; then past=1
    elif [[ $words[i] == -* ]]; then [[ " $opts " == *" $words[i] "* ]] && ((i++))
    else ((n++))
    fi
  done
  if [[ -z $past ]]; then
    # --opt=value in one word: the value after the "=", for the option before it.
    if [[ $PREFIX == --*=* ]]; then
      prev=\${PREFIX%%=*}
      compset -P '*='
      [[ " $opts " == *" $prev "* ]] || return
    fi
    # Right after an option that takes a value: that value.
    if [[ " $opts " == *" $prev "* ]]; then
      case "$cmd $prev" in
${valueArms(nodes, act, "        ")}
      esac
      return
    fi
    if [[ $PREFIX == -* ]]; then compadd -- \${=opts} \${=flags}; return; fi
  fi
  # Otherwise the nth positional.
  case "$cmd $n" in
${positionalArms(nodes, act, "    ")}
  esac
}
if [ "$funcstack[1]" = "_claudemesh" ]; then
  _claudemesh "$@"
else
  compdef _claudemesh claudemesh
fi
`;
}
