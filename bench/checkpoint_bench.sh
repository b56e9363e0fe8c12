#!/bin/bash
# Later checkpoint of a 512 MiB process (1 % of its pages rewritten between
# checkpoints): `stasisctl checkpoint` of a policy job through stasisd on a
# private bus, alternating with `criu dump` of the same process to a directory
# with the same options. Prints medians as name=value lines.
# Usage: bench/checkpoint_bench.sh [BUILD_DIR] [ROUNDS] [SIZE]   (root)
set -euo pipefail
build=$(realpath "${1:-build}")
rounds=${2:-3}
size=${3:-512M}
criu=${CRIU:-/opt/stasis/criu/bin/criu}
tmp=$(mktemp -d /var/tmp/stasis-ckpt-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/policies" "$tmp/state"
cat >"$tmp/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$tmp/bus</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/><allow user="*"/></policy></busconfig>
CONF
ulimit -n 65536 2>/dev/null || true
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile &
pids+=($!)
export STASIS_BUS_ADDRESS="unix:path=$tmp/bus"
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.1; done

setsid "$build/tests/workloads/stasis-wl-memory" --bytes "$size" --dirty-percent 1 \
  --status "$tmp/status" </dev/null >/dev/null 2>&1 &
wl=$!
pids+=($wl)
for _ in $(seq 100); do grep -q '^check=pass' "$tmp/status" 2>/dev/null && break; sleep 0.1; done

cat >"$tmp/policies/bench.yaml" <<YAML
version: 1
jobs:
  - name: bench
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

now() { date +%s.%N; }
dirty() { kill -USR2 "$wl"; sleep 0.3; }
"$ctl" checkpoint bench >/dev/null # the first checkpoint: every page is new

later=() raw=() frozen=() raw_frozen=() split=() raw_split=()
for r in $(seq "$rounds"); do
  dirty
  t0=$(now); "$ctl" checkpoint bench >/dev/null; t1=$(now)
  later+=("$(echo "$t1 - $t0" | bc)")
  frozen+=("$(grep -o 'frozen [0-9]* ms' "$tmp/stasisd.log" | tail -1 | awk '{print $2}')")
  split+=("$(grep -o 'memdump [0-9]* ms, memwrite [0-9]* ms' "$tmp/stasisd.log" | tail -1 |
    awk '{print $2 "/" $5}')")
  dirty
  rm -rf "$tmp/raw"; mkdir "$tmp/raw"
  t0=$(now)
  "$criu" dump -t "$wl" -D "$tmp/raw" --leave-running --display-stats \
    -o dump.log >"$tmp/raw.out" 2>&1
  sync -f "$tmp/raw" # durable, as a stored checkpoint is
  t1=$(now)
  raw+=("$(echo "$t1 - $t0" | bc)")
  raw_frozen+=("$(awk '/Frozen time/ {print int($3/1000)}' "$tmp/raw.out")")
  echo "round $r: stasis ${later[-1]} s frozen ${frozen[-1]} ms; criu ${raw[-1]} s" \
    "frozen ${raw_frozen[-1]} ms" >&2
  raw_split+=("$(awk '/Memory dump time/ {d=int($4/1000)} /Memory write time/ {w=int($4/1000)}
    END {print d "/" w}' "$tmp/raw.out")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ls_=$(median "${later[@]}"); rs=$(median "${raw[@]}")
fm=$(median "${frozen[@]}"); rfm=$(median "${raw_frozen[@]}")
echo "later_checkpoint_s=$ls_"
echo "raw_dump_s=$rs"
echo "checkpoint_ratio=$(echo "scale=2; $ls_ / $rs" | bc)"
echo "frozen_ms=$fm"
echo "raw_frozen_ms=$rfm"
echo "frozen_ratio=$(echo "scale=2; $fm / $rfm" | bc)"
echo "samples_later_s=${later[*]// /,}"
echo "samples_raw_s=${raw[*]// /,}"
echo "samples_frozen_ms=${frozen[*]// /,}"
echo "samples_raw_frozen_ms=${raw_frozen[*]// /,}"
echo "samples_memdump_memwrite_ms=${split[*]// /,}"
echo "samples_raw_memdump_memwrite_ms=${raw_split[*]// /,}"
echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
