// The bash script. Registered with `-o default`, so an answer left empty gives file names; free
// text turns that off for the one completion (`compopt +o default`) and so offers nothing.
import type { Node } from "./tree.ts";
import { optionArms, positionalArms, subPaths, valueArms, type Actions } from "./tables.ts";

const act: Actions = { words: (w) => `COMPREPLY=($(compgen -W "${w.join(" ")}" -- "$cur"))`, files: "", text: "compopt +o default" };

export function bash(nodes: Node[]): string {
  return `# claudemesh bash completion
_claudemesh() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= at=1 opts= flags= n=0 end=$COMP_CWORD eq= past= w i
  COMPREPLY=()
  # --opt=value: bash splits the word at "=" (COMP_WORDBREAKS) into "--opt" "=" "value"; the part
  # after "=" is completed (readline replaces only that), the word before it says what it is.
  if [[ $cur == = ]]; then cur= end=$((COMP_CWORD - 1)) eq=1
  elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then prev=\${COMP_WORDS[COMP_CWORD-2]} end=$((COMP_CWORD - 2)) eq=1
  fi
  # The command words before the cursor ("send", "topic post", none yet) and where its own start.
  if ((end > 1)); then cmd=\${COMP_WORDS[1]} at=2; fi
  if ((end > 2)); then
    case "$cmd \${COMP_WORDS[2]}" in ${subPaths(nodes)}) cmd+=" \${COMP_WORDS[2]}" at=3;; esac
  fi
  case $cmd in
${optionArms(nodes, "    ")}
  esac
  # Count the positionals before the word at the cursor: words that are neither options nor an
  # option's value; a word "a=b" is one; after a lone "--" every word is one (text, not options).
  for ((i = at; i < end; i++)); do
    w=\${COMP_WORDS[i]}
    if ((i + 1 < end)) && [[ \${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); [[ -z $past && $w == -* ]] || ((n++))
    elif [[ $past ]]; then ((n++))
    elif [[ $w == -- ]]; then past=1
    elif [[ $w == -* ]]; then [[ " $opts " == *" $w "* ]] && ((i++))
    else ((n++))
    fi
  done
  if [[ -z $past ]]; then
    # Right after an option that takes a value (or its "="): that value.
    if [[ " $opts " == *" $prev "* ]]; then
      case "$cmd $prev" in
${valueArms(nodes, act, "        ")}
      esac
      return
    fi
    if [[ $eq && $prev == -* ]]; then compopt +o default; return; fi
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts $flags" -- "$cur")); return; fi
  fi
  # Otherwise the nth positional.
  case "$cmd $n" in
${positionalArms(nodes, act, "    ")}
  esac
}
complete -o default -F _claudemesh claudemesh
`;
}
