#!/usr/bin/env bash
# Set up (idempotent), build, and run the stasis demo on the embedded defaults.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${STASIS_BUILD_DIR:-$here/build}
bash "$here/scripts/setup.sh"
exec "$build_dir/cli/stasisctl" demo "$@"
