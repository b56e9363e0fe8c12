#!/usr/bin/env bash
# Set up (idempotent), build, and run every test tier: unit, dbus, e2e (and
# the package test with STASIS_TEST_PACKAGE=1).
# The e2e tier needs root and a working CRIU; it fails loudly without them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${STASIS_BUILD_DIR:-$here/build}
bash "$here/scripts/setup.sh"
cd "$build_dir"
# The Debian package test (ctest -L package: builds the .deb, debootstraps a
# root) takes 3-4 minutes with its cache and 20 or more on a new machine: it
# runs when STASIS_TEST_PACKAGE=1, or with ctest -L package.
labels=(-LE package)
[[ ${STASIS_TEST_PACKAGE:-0} == 1 ]] && labels=()
ctest --output-on-failure --timeout 600 "${labels[@]}" "$@"
