#!/usr/bin/env bash
# Set up (idempotent), build, and run every test tier: unit, dbus, e2e.
# The e2e tier needs root and a working CRIU; it fails loudly without them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${STASIS_BUILD_DIR:-$here/build}
bash "$here/scripts/setup.sh"
cd "$build_dir"
ctest --output-on-failure --timeout 600 "$@"
