#!/usr/bin/env bash
# Builds the policy parser into a libFuzzer binary (clang++-14,
# -fsanitize=fuzzer,address), seeds it with examples/ and fuzzes for a bounded
# time. Prints "fuzz_runs=N fuzz_crashes=M" and exits 1 when it found a crash.
#
# Usage: bench/fuzz_policy.sh [SECONDS=60] [WORK_DIR=build/fuzz-policy]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
work=${2:-$here/build/fuzz-policy}
cxx=${CXX_FUZZ:-clang++-14}
mkdir -p "$work/corpus" "$work/artifacts"

binary=$work/fuzz_policy
objects=$work/objects
mkdir -p "$objects"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$here")
# Compile changed sources two at a time (objects are kept between runs).
compile() {
  local source=$1 object=$2
  if [[ ! -f $object || $source -nt $object || -n $(find "$here/policy" -name '*.hpp' -newer "$object") ]]; then
    "$cxx" "${flags[@]}" -c "$source" -o "$object"
  fi
}
export -f compile
export cxx here
export flags_string="${flags[*]}"
sources=("$here"/policy/*.cpp "$here/bench/fuzz_policy.cpp")
for source in "${sources[@]}"; do
  echo "$source $objects/$(basename "${source%.cpp}").o"
done | xargs -P 2 -n 2 bash -c 'flags=($flags_string); compile "$0" "$1"'
objs=()
for source in "${sources[@]}"; do objs+=("$objects/$(basename "${source%.cpp}").o"); done
if [[ ! -x $binary ]] || [[ -n $(find "$objects" -name '*.o' -newer "$binary") ]]; then
  echo "fuzz_policy: linking with $cxx" >&2
  "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$binary" \
    -lyaml-cpp -lfmt -ldate-tz -lcrypto
fi

cp -n "$here"/examples/*.yaml "$here"/tests/data/policy/*/*.yaml "$work/corpus/" 2>/dev/null || true
# A dictionary of every key and value word the examples use.
grep -ohE '[a-z][a-z-]+' "$here"/examples/*.yaml | sort -u | sed 's/.*/"&"/' >"$work/policy.dict"

rm -f "$work"/artifacts/crash-* "$work"/artifacts/leak-* "$work"/artifacts/timeout-*
log=$work/fuzz.log
set +e
"$binary" "$work/corpus" -dict="$work/policy.dict" -max_total_time="$seconds" \
  -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" >"$log" 2>&1
status=$?
set -e
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
crashes=$(find "$work/artifacts" -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' | wc -l)
echo "fuzz_runs=${runs:-0} fuzz_crashes=$crashes"
if ((status != 0 || crashes != 0)); then
  tail -40 "$log" >&2
  exit 1
fi
