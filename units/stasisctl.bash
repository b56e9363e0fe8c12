# bash completion for stasisctl (installed as bash-completion/completions/stasisctl).
# Subcommands and options come from stasisctl's own --help, so the completion
# follows every command group; job names come from the daemon when it answers.

_stasisctl_subcommands() {
  stasisctl --help 2>/dev/null |
    awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }'
}

_stasisctl_options() {
  stasisctl "$1" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

_stasisctl_jobs() {
  stasisctl jobs --json 2>/dev/null | grep -oE '"name": *"[^"]+"' | sed -E 's/.*"([^"]+)"$/\1/'
}

_stasisctl() {
  local cur prev sub word i
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}

  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
    --bus) ((i++)) ;;
    -*) ;;
    *) sub=$word; break ;;
    esac
  done

  case $prev in
  --bus)
    COMPREPLY=($(compgen -W "system session" -- "$cur"))
    return
    ;;
  --pid)
    COMPREPLY=($(compgen -W "$(ps -o pid= -u "$(id -u)" 2>/dev/null)" -- "$cur"))
    return
    ;;
  --state-dir | --policy-dir)
    COMPREPLY=($(compgen -d -- "$cur"))
    return
    ;;
  esac

  if [[ -z $sub ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "--help --json --verbose --bus" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_stasisctl_subcommands)" -- "$cur"))
    fi
    return
  fi

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_stasisctl_options "$sub") --json --bus" -- "$cur"))
    return
  fi
  case $sub in
  status | checkpoint | restore | history | checkpoints | prune | verify)
    COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur"))
    ;;
  validate)
    COMPREPLY=($(compgen -f -- "$cur"))
    ;;
  esac
}

complete -F _stasisctl stasisctl
