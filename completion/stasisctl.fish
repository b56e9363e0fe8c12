# fish completion for stasisctl(1): commands, options, job names and
# checkpoint ids (from `stasisctl jobs --quiet` and `stasisctl checkpoints
# --quiet JOB`, which print nothing and never start stasisd when it is not
# running).

# The commands, from stasisctl --help (no daemon is asked).
set -l stasisctl_commands (command stasisctl --help 2>/dev/null | awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }')

# The command line's --bus or --state-dir option (and value), to pass on.
function __stasisctl_option_of
    set -l words (commandline -opc)
    set -l n (count $words)
    for i in (seq 2 $n)
        switch $words[$i]
            case $argv[1]
                if test $i -lt $n
                    echo $words[$i]
                    echo $words[(math $i + 1)]
                end
            case "$argv[1]=*"
                echo $words[$i]
        end
    end
end

# The positional words after the command (options and their values skipped).
function __stasisctl_args
    set -l words (commandline -opc)
    set -l skip 0
    set -l seen_cmd 0
    for w in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case --bus --state-dir --criu --limit --pid --timeout '--keep-*' --max-total-size --time-zone --format --job --authfile --creds --ca-file --from
                set skip 1
            case '-*'
            case '*'
                if test $seen_cmd -eq 0
                    set seen_cmd 1
                else
                    echo $w
                end
        end
    end
end

function __stasisctl_nargs
    count (__stasisctl_args)
end

function __stasisctl_jobs
    command stasisctl (__stasisctl_option_of --bus) jobs --quiet 2>/dev/null
end

function __stasisctl_ids
    set -l job (__stasisctl_args)[1]
    command stasisctl (__stasisctl_option_of --bus) checkpoints --quiet (__stasisctl_option_of --state-dir) -- $job 2>/dev/null
    echo latest
end

complete -c stasisctl -f
complete -c stasisctl -n "not __fish_seen_subcommand_from $stasisctl_commands" -a "$stasisctl_commands"
complete -c stasisctl -l json -d 'Print JSON'
complete -c stasisctl -s v -l verbose -d 'More log output'
complete -c stasisctl -l bus -r -d 'Bus of stasisd'
complete -c stasisctl -l state-dir -r -a '(__fish_complete_directories)' -d 'Open this state directory directly'
complete -c stasisctl -s q -l quiet -d 'No progress or notes; listings: only ids or names'
complete -c stasisctl -n '__fish_seen_subcommand_from inspect' -l preview -d 'Check a restore here'
complete -c stasisctl -n '__fish_seen_subcommand_from prune' -l dry-run -l keep-last -l keep-hourly -l keep-daily -l keep-weekly -l keep-monthly -l keep-yearly -l keep-within -l max-total-size -l time-zone
complete -c stasisctl -n '__fish_seen_subcommand_from checkpoint' -l pid -l leave-running -l stop -l stream -l shell-job -l file-locks -l tcp-established -l ext-unix-sk
complete -c stasisctl -n '__fish_seen_subcommand_from restore' -l new-pidns -l lazy -l tcp-close -l terminal -l no-terminal -l from
complete -c stasisctl -n '__fish_seen_subcommand_from checkpoint restore push pull' -l no-wait -l timeout -l quiet
complete -c stasisctl -n '__fish_seen_subcommand_from restore push pull remote-checkpoints' -l authfile -l creds -l ca-file -l plain-http
complete -c stasisctl -n '__fish_seen_subcommand_from import pull' -l job -a '(__stasisctl_jobs)'
complete -c stasisctl -n '__fish_seen_subcommand_from fsck' -l verify-data
complete -c stasisctl -n '__fish_seen_subcommand_from export' -l criu-dir
complete -c stasisctl -n '__fish_seen_subcommand_from history' -l limit
complete -c stasisctl -n '__fish_seen_subcommand_from engine' -l criu
complete -c stasisctl -n '__fish_seen_subcommand_from schema' -l format -a 'json asciidoc'

# Job names as the first argument, checkpoint ids as the second (and third for diff).
complete -c stasisctl -n '__fish_seen_subcommand_from checkpoints prune status history checkpoint show verify delete pin unpin restore push export diff inspect; and test (__stasisctl_nargs) -eq 0' -a '(__stasisctl_jobs)'
complete -c stasisctl -n '__fish_seen_subcommand_from show verify delete pin unpin restore push export inspect; and test (__stasisctl_nargs) -eq 1' -a '(__stasisctl_ids)'
complete -c stasisctl -n '__fish_seen_subcommand_from diff; and test (__stasisctl_nargs) -ge 1 -a (__stasisctl_nargs) -le 2' -a '(__stasisctl_ids)'
complete -c stasisctl -n '__fish_seen_subcommand_from import validate inspect export' -F
