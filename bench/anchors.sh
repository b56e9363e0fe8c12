#!/bin/bash
# Anchors: 10 checkpoints of a 256 MiB process rewriting 1 % of its pages in
# between, stored by stasis (`stasisctl checkpoint` of a policy job) vs
# `criu dump` + `restic backup` vs `criu dump` + `borg create`: stored bytes and
# total time; then restore of the newest (stasis: `stasisctl restore`; others:
# `restic restore` / `borg extract` + `criu restore`). name=value lines.
# Usage: bench/anchors.sh [BUILD_DIR] [COUNT] [SIZE]   (root)
set -euo pipefail
for tool in restic borg; do
  command -v "$tool" >/dev/null || {
    echo "bench/anchors.sh needs $tool: apt-get install restic borgbackup" >&2
    exit 2
  }
done
build=$(realpath "${1:-build}")
count=${2:-10}
size=${3:-256M}
criu=${CRIU:-/opt/stasis/criu/bin/criu}
tmp=$(mktemp -d /var/tmp/stasis-anchors.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

mkdir -p "$tmp/policies" "$tmp/state"
cat >"$tmp/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$tmp/bus</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/><allow user="*"/></policy></busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile 2>/dev/null &
pids+=($!)
export STASIS_BUS_ADDRESS="unix:path=$tmp/bus"
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.1; done

setsid "$build/tests/workloads/stasis-wl-memory" --bytes "$size" --dirty-percent 1 \
  --status "$tmp/status" </dev/null >/dev/null 2>&1 &
wl=$!
pids+=($wl)
for _ in $(seq 100); do grep -q '^check=pass' "$tmp/status" 2>/dev/null && break; sleep 0.1; done
cat >"$tmp/policies/anchors.yaml" <<YAML
version: 1
jobs:
  - name: anchors
    target:
      pid: $wl
    criu:
      leave-running: true
      timeout: 120s
YAML
"$build/daemon/stasisd" --bus "$STASIS_BUS_ADDRESS" --policy-dir "$tmp/policies" \
  --state-dir "$tmp/state" --criu "$criu" >"$tmp/stasisd.log" 2>&1 &
pids+=($!)
ctl="$build/cli/stasisctl"
for _ in $(seq 100); do "$ctl" list >/dev/null 2>&1 && break; sleep 0.1; done

export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
restic init -q -r "$tmp/restic"
borg init -e none "$tmp/borg"
stasis_s=0 restic_s=0 borg_s=0
for i in $(seq "$count"); do
  kill -USR2 "$wl"; sleep 0.3
  t=$(now); "$ctl" checkpoint anchors >/dev/null; stasis_s=$(echo "$stasis_s + $(elapsed "$t")" | bc)
  rm -rf "$tmp/dump"; mkdir "$tmp/dump"
  t=$(now)
  "$criu" dump -t "$wl" -D "$tmp/dump" --leave-running -o dump.log
  dump_s=$(elapsed "$t")
  t=$(now); restic backup -q -r "$tmp/restic" "$tmp/dump" >/dev/null
  restic_s=$(echo "$restic_s + $dump_s + $(elapsed "$t")" | bc)
  t=$(now); (cd "$tmp" && borg create -C lz4 "$tmp/borg::c$i" dump)
  borg_s=$(echo "$borg_s + $dump_s + $(elapsed "$t")" | bc)
done
echo "stasis_total_s=$stasis_s"
echo "restic_total_s=$restic_s"
echo "borg_total_s=$borg_s"
echo "stasis_stored_bytes=$(du -sb "$tmp/state" | cut -f1)"
echo "restic_stored_bytes=$(du -sb "$tmp/restic" | cut -f1)"
echo "borg_stored_bytes=$(du -sb "$tmp/borg" | cut -f1)"

# Restore of the newest: the workload makes way for its restored self.
kill "$wl"; wait "$wl" 2>/dev/null || true
t=$(now); "$ctl" restore anchors >/dev/null; echo "stasis_restore_s=$(elapsed "$t")"
pkill_tree() { local p; p=$(awk -F= '/^pid=/ {print $2}' "$tmp/status"); kill "$p"; sleep 0.5; }
pkill_tree
rm -rf "$tmp/out"; mkdir "$tmp/out"
t=$(now)
restic restore -q -r "$tmp/restic" latest --target "$tmp/out"
"$criu" restore -D "$tmp/out$tmp/dump" -d -o restore.log
echo "restic_restore_s=$(elapsed "$t")"
pkill_tree
rm -rf "$tmp/out2"; mkdir "$tmp/out2"
t=$(now)
(cd "$tmp/out2" && borg extract "$tmp/borg::c$count")
"$criu" restore -D "$tmp/out2/dump" -d -o restore.log
echo "borg_restore_s=$(elapsed "$t")"
pkill_tree
echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
