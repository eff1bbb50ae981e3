// The bash script. Registered with `-o default`, so an answer left empty gives file names; free
// text turns that off for the one completion (`compopt +o default`) and so offers nothing.
import type { Node } from "./tree.ts";
import { optionArms, positionalArms, subPaths, valueArms, type Actions } from "./tables.ts";

const act: Actions = { words: (w) => `COMPREPLY=($(compgen -W "${w.join(" ")}" -- "$cur"))`, files: "", text: "compopt +o default" };

export function bash(nodes: Node[]): string {
  return `# claudemesh bash completion
_claudemesh() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= at=1 opts= flags= n=0 i
  COMPREPLY=()
  # The command words before the cursor ("send", "topic post", none yet) and where its own start.
  if ((COMP_CWORD > 1)); then cmd=\${COMP_WORDS[1]} at=2; fi
  if ((COMP_CWORD > 2)); then
    case "$cmd \${COMP_WORDS[2]}" in ${subPaths(nodes)}) cmd+=" \${COMP_WORDS[2]}" at=3;; esac
  fi
  case $cmd in
${optionArms(nodes, "    ")}
  esac
  # Right after an option that takes a value: that value.
  if [[ " $opts " == *" $prev "* ]]; then
    case "$cmd $prev" in
${valueArms(nodes, act, "      ")}
    esac
    return
  fi
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts $flags" -- "$cur")); return; fi
  # Otherwise the nth positional: words that are neither options nor an option's value.
  for ((i = at; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) [[ " $opts " == *" \${COMP_WORDS[i]} "* ]] && ((i++));; *) ((n++));; esac
  done
  case "$cmd $n" in
${positionalArms(nodes, act, "    ")}
  esac
}
complete -o default -F _claudemesh claudemesh
`;
}
