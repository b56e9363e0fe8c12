# bash completion for stasisctl(1): commands, options, job names and
# checkpoint ids. Names and ids come from `stasisctl jobs --quiet` and
# `stasisctl checkpoints --quiet JOB`, which print nothing (and never start
# stasisd) when the daemon is not running.

# Commands and each command's options come from stasisctl's own --help (no
# daemon is asked), so the completion follows every command group.
_stasisctl_commands() {
    command stasisctl --help 2>/dev/null |
        awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }'
}

_stasisctl_options() {
    command stasisctl "$1" --help 2>/dev/null | grep -oE -- '(^|[ ,])-(-[a-z][a-z0-9-]*|[a-z])' |
        tr -d ' ,' | sort -u
}

# The command line's --bus or --state-dir option (and value), to pass on.
_stasisctl_option_of() {
    local i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        case "$w" in
            "$1") printf '%s %s ' "$w" "${COMP_WORDS[i + 1]}" ;;
            "$1"=*) printf '%s ' "$w" ;;
        esac
    done
}

_stasisctl_jobs() {
    # shellcheck disable=SC2046
    command stasisctl $(_stasisctl_option_of --bus) jobs --quiet 2>/dev/null
}

_stasisctl_ids() {
    # shellcheck disable=SC2046
    command stasisctl $(_stasisctl_option_of --bus) checkpoints --quiet \
        $(_stasisctl_option_of --state-dir) -- "$1" 2>/dev/null
    echo latest
}

_stasisctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev=""
    ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
    COMPREPLY=()

    case "$prev" in
        --bus)
            COMPREPLY=($(compgen -W "system session" -- "$cur")); return 0 ;;
        --criu|--limit|--pid|--timeout|--keep-*|--max-total-size|--time-zone|--authfile|--creds|--ca-file)
            return 0 ;;
        --state-dir)
            COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
        --format)
            COMPREPLY=($(compgen -W "json asciidoc" -- "$cur")); return 0 ;;
        --job)
            COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur")); return 0 ;;
    esac

    # The command and the positional arguments typed before the cursor.
    local cmd="" i w args=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        case "$w" in
            --bus|--state-dir|--criu|--limit|--pid|--timeout|--keep-*|--max-total-size|--time-zone|--format|--job|--authfile|--creds|--ca-file|--from)
                ((i++)) ;;
            -*) ;;
            *) if [[ -z "$cmd" ]]; then cmd="$w"; else args+=("$w"); fi ;;
        esac
    done

    if [[ -z "$cmd" ]]; then
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "--json -q --quiet -v --verbose --bus --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_stasisctl_commands)" -- "$cur"))
        fi
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_stasisctl_options "$cmd")" -- "$cur"))
        return 0
    fi

    local n=${#args[@]}
    case "$cmd" in
        checkpoints|prune|status|history|checkpoint)
            ((n == 0)) && COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur")) ;;
        show|verify|delete|pin|unpin|restore|push|export)
            if ((n == 0)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur"))
            elif ((n == 1)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_ids "${args[0]}")" -- "$cur"))
            elif [[ "$cmd" == export ]]; then
                COMPREPLY=($(compgen -f -- "$cur"))
            fi ;;
        diff)
            if ((n == 0)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur"))
            elif ((n <= 2)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_ids "${args[0]}")" -- "$cur"))
            fi ;;
        inspect)
            if ((n == 0)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_jobs)" -- "$cur") $(compgen -f -- "$cur"))
            elif ((n == 1)); then
                COMPREPLY=($(compgen -W "$(_stasisctl_ids "${args[0]}")" -- "$cur"))
            fi ;;
        import|validate)
            COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
}

complete -F _stasisctl stasisctl
