#!/usr/bin/env bash
# Set up everything stasis needs on a Debian bookworm machine, idempotently:
# Debian packages for building and running, a working CRIU (provision-criu.sh)
# and a CMake build in ./build. A second run takes seconds.
#
# Usage: scripts/setup.sh        (as root)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${STASIS_BUILD_DIR:-$here/build}

log() { echo "setup: $*" >&2; }

packages=(
  # toolchain
  g++ cmake make pkg-config git ca-certificates
  # libraries
  libyaml-cpp-dev libprotobuf-dev protobuf-compiler libsdbus-c++-dev libsdbus-c++-bin
  libsystemd-dev libcap-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libzstd-dev libssl-dev libcli11-dev nlohmann-json3-dev libhowardhinnant-date-dev tzdata
  libre2-dev libxxhash-dev libcurl4-openssl-dev
  # run time and tests
  dbus zstd patchelf iptables nftables iproute2 procps util-linux tmux
  busybox-static python3 python3-jsonschema python3-yaml asciidoctor
  # OCI registry tests (tests/dbus/registry_*): the CNCF Distribution registry, htpasswd, a test CA
  docker-registry apache2-utils openssl
  # container targets (tests/dbus/container_*_test.cpp)
  runc lxc podman uidmap tar
  # shell completion tests (tests/dbus/stasisctl_completion_test.cpp): the shells
  zsh fish
  # CRIU provisioning
  dpkg-dev apt xz-utils
  # the Debian package and its test (scripts/package-test.sh, ctest -L package)
  debhelper devscripts fakeroot debootstrap rsync bash-completion ccache
)

if [[ $(id -u) -ne 0 ]]; then
  log "run me as root (packages are installed and CRIU needs root)"
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

criu=$("$here/scripts/provision-criu.sh" | tail -1)
log "CRIU: $criu ($("$criu" --version | head -1))"

werror=OFF
[[ -n "${CI:-}" ]] && werror=ON
# Release at -O2 without debug info builds a third faster than RelWithDebInfo;
# STASIS_BUILD_TYPE=RelWithDebInfo gives a debugger something to read.
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE="${STASIS_BUILD_TYPE:-Release}" \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DSTASIS_WARNINGS_AS_ERRORS=$werror >"$build_dir.configure.log" 2>&1 ||
  { cat "$build_dir.configure.log" >&2; exit 1; }
if ! cmake --build "$build_dir" -j"$(nproc)" >"$build_dir.build.log" 2>&1; then
  grep -E 'error|Error' -A3 "$build_dir.build.log" | head -60 >&2
  log "build failed; full log in $build_dir.build.log"
  exit 1
fi
log "build ready in $build_dir"
