#!/bin/bash
# stasis-wl-shell-job-loop STATUS_FILE: a shell job for the CRIU --shell-job
# case (tests/dbus/flags_shell_job_test.cpp). Started from an interactive
# shell in a terminal (a tmux pane), it counts in a loop and checks itself on
# every round: its counter only ever grows by one (a restore that lost the
# shell's memory would start again at 1) and its stdin is still a terminal.
# It rewrites STATUS_FILE atomically as key=value lines: pid, ticks, check
# (pass|fail), detail, tty (yes|no). With a second argument `print` it also
# prints "stasis-loop tick N" to its terminal on every round.
status=${1:?usage: stasis-wl-shell-job-loop STATUS_FILE [print]}
print=${2:-}
ticks=0
check=pass
detail=
while :; do
  previous=$ticks
  ticks=$((ticks + 1))
  if ((ticks != previous + 1)); then
    check=fail
    detail="counter jumped from $previous to $ticks"
  fi
  tty=no
  if [[ -t 0 ]]; then
    tty=yes
  else
    check=fail
    detail="stdin is no longer a terminal"
  fi
  printf 'pid=%s\nticks=%s\ncheck=%s\ndetail=%s\ntty=%s\n' \
    "$$" "$ticks" "$check" "$detail" "$tty" >"$status.tmp"
  mv -f "$status.tmp" "$status"
  if [[ $print == print ]]; then
    printf 'stasis-loop tick %s\n' "$ticks"
  fi
  sleep 0.05
done
