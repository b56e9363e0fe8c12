#!/usr/bin/env bash
# The stasis demo: a private D-Bus, the real stasisd with a demo policy, a
# 64 MiB self-checking workload checkpointed every 3 s by the daemon, then a
# crash (kill -9) and a restore of the newest checkpoint through stasisctl.
# Everything it starts (bus, daemon, workload) is stopped by pid and its temp
# dir removed on exit, also on failure or Ctrl-C.
#
# Usage: scripts/demo.sh    (as root; runs scripts/setup.sh first)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${STASIS_BUILD_DIR:-$here/build}

if [[ -z "${STASIS_DEMO_NO_SETUP:-}" ]]; then
  bash "$here/scripts/setup.sh"
fi

stasisd=$build_dir/daemon/stasisd
stasisctl=$build_dir/cli/stasisctl
workload_bin=$build_dir/tests/workloads/stasis-wl-memory
for binary in "$stasisd" "$stasisctl" "$workload_bin"; do
  [[ -x $binary ]] || { echo "demo: $binary is missing (did the build fail?)" >&2; exit 1; }
done

bold=$'\e[1m'
plain=$'\e[0m'
[[ -t 1 ]] || { bold=; plain=; }
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '    %s\n' "$*"; }

tmp=$(mktemp -d /tmp/stasis-demo-XXXXXX)
bus_pid=
daemon_pid=
workload_pid=
watch_pid=

# Waits (up to $2 tenths of a second) until pid $1 is gone.
wait_gone() {
  local pid=$1 tries=${2:-50}
  while ((tries-- > 0)) && [[ -e /proc/$pid ]]; do
    sleep 0.1
  done
}

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [[ -n $workload_pid ]] && kill -0 "$workload_pid" 2>/dev/null; then
    kill -KILL "$workload_pid" 2>/dev/null || true
    wait_gone "$workload_pid" 30
  fi
  if [[ -n $watch_pid ]]; then
    kill -TERM "$watch_pid" 2>/dev/null || true
  fi
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait_gone "$daemon_pid" 50
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  if [[ -n $bus_pid ]]; then
    kill -TERM "$bus_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$tmp"
  if ((code != 0)); then
    echo "demo: FAILED (exit $code)" >&2
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "demo: $*" >&2
  if [[ -f $tmp/stasisd.log ]]; then
    echo "--- last lines of the stasisd log:" >&2
    tail -20 "$tmp/stasisd.log" >&2
  fi
  exit 1
}

# Reads one key of the workload's status file.
status_of() { sed -n "s/^$1=//p" "$tmp/workload/status" 2>/dev/null; }

step "Starting a private D-Bus and stasisd"
mkdir -p "$tmp/policy" "$tmp/state" "$tmp/workload"
cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <!-- as in dbus' session.conf: without these, replies are not received -->
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --print-address=3 \
  3>"$tmp/bus.address" 2>"$tmp/bus.log" &
bus_pid=$!
for _ in $(seq 50); do
  [[ -s $tmp/bus.address ]] && break
  sleep 0.1
done
bus=$(head -1 "$tmp/bus.address")
[[ -n $bus ]] || fail "dbus-daemon did not start (see $tmp/bus.log)"
say "bus: $bus"
ctl() { "$stasisctl" --bus "$bus" "$@"; }

step "Starting the workload: 64 MiB of self-checking memory"
setsid "$workload_bin" --bytes 64M --dirty-percent 1 --status "$tmp/workload/status" \
  </dev/null >/dev/null 2>&1 &
workload_pid=$!
for _ in $(seq 100); do
  [[ -s $tmp/workload/status ]] && break
  sleep 0.1
done
[[ -s $tmp/workload/status ]] || fail "the workload did not start"
echo "$workload_pid" >"$tmp/workload.pid"
say "stasis-wl-memory running as pid $workload_pid"

cat >"$tmp/policy/demo.yaml" <<EOF
version: 1
jobs:
  - name: demo
    description: The demo workload, checkpointed every 3 seconds.
    target:
      pidfile: $tmp/workload.pid
    schedule:
      every: 3s
    criu:
      leave-running: true
    retention:
      keep-last: 5
EOF
chmod 0644 "$tmp/policy/demo.yaml"
say "policy $tmp/policy/demo.yaml:"
sed 's/^/      | /' "$tmp/policy/demo.yaml"

"$stasisd" --bus "$bus" --policy-dir "$tmp/policy" --state-dir "$tmp/state" \
  >"$tmp/stasisd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
  ctl jobs >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "stasisd exited"
  sleep 0.1
done
ctl jobs >/dev/null 2>&1 || fail "stasisd does not answer"
say "stasisd running as pid $daemon_pid"
echo
ctl jobs | sed 's/^/    /'

ctl --json watch >"$tmp/events.jsonl" 2>/dev/null &
watch_pid=$!

step "Letting the schedule take 3 checkpoints (the workload changes 1% of its pages in between)"
checkpoints() {
  ctl jobs --json | python3 -c 'import json,sys; print(next((j["checkpoints"] for j in json.load(sys.stdin) if j["name"] == "demo"), 0))'
}
seen=0
for _ in $(seq 300); do
  count=$(checkpoints)
  if ((count != seen)); then
    seen=$count
    say "checkpoint #$count taken (workload steps so far: $(status_of steps))"
    ((count >= 3)) && break
    kill -USR2 "$workload_pid"
  fi
  sleep 0.1
done
((seen >= 3)) || fail "only $seen checkpoints after 30 s"

step "Crash: kill -9 the workload"
# Right after a run finished, so that the crash does not hit a dump midway
# (that run would fail, as it should, but the demo is about the restore).
finished=$(grep -c '"RunFinished"' "$tmp/events.jsonl" || true)
for _ in $(seq 100); do
  (($(grep -c '"RunFinished"' "$tmp/events.jsonl" || true) > finished)) && break
  sleep 0.05
done
kill -KILL "$workload_pid"
wait "$workload_pid" 2>/dev/null || true
say "pid $workload_pid is gone: $([[ -e /proc/$workload_pid ]] && echo no || echo yes)"

step "Restoring the newest checkpoint with stasisctl"
say "\$ stasisctl restore demo"
restored=$(ctl restore demo --timeout 60) || fail "the restore failed"
workload_pid=$restored
say "restored as pid $restored"

step "Asking the restored workload to verify all of its memory"
before=$(status_of verified)
kill -USR1 "$restored"
for _ in $(seq 100); do
  [[ $(status_of verified) != "$before" ]] && break
  sleep 0.1
done
check=$(status_of check)
[[ $check == pass ]] || fail "verification: ${check:-no answer} $(status_of detail)"
say "check=$check: all $(status_of pages) pages match their checksums (steps: $(status_of steps))"

step "The checkpoint chain"
"$stasisctl" checkpoints demo --state-dir "$tmp/state" | sed 's/^/    /'
echo
"$stasisctl" du --state-dir "$tmp/state" | sed 's/^/    /'
echo
ctl history demo | sed 's/^/    /'

step "Demo complete; cleaning up"
