#!/bin/sh
# Runs engine_bench (engine vs raw criu CLI on a stasis-wl-memory workload) and
# prints its name=value lines. Usage: bench/engine_bench.sh [BUILD_DIR] [engine_bench options]
# e.g. sudo bench/engine_bench.sh build --size 1G --reps 3
set -eu
build_dir=${1:-build}
[ $# -gt 0 ] && shift
exec "$build_dir/bench/engine_bench" "$@"
