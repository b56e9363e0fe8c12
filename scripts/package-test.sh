#!/usr/bin/env bash
# The Debian package, end to end: builds it with `dpkg-buildpackage -us -uc -b`
# from a copy of the source, installs it with apt into a fresh
# `debootstrap --variant=minbase bookworm` root and, inside that root with
# /proc, /sys and /dev bound, starts Debian's own system bus (dbus-daemon
# --system, reading the package's policy) and asks stasisctl through it: the
# first call activates stasisd from the package's D-Bus activation file.
#
# Cached between runs in $STASIS_PACKAGE_CACHE (default
# /var/tmp/stasis-package-cache): the pristine minbase root, the downloaded
# .debs of its dependencies, and the package build tree (rebuilt
# incrementally, through ccache when it is installed). Each run installs into
# a new copy of the root, removed at the end.
#
# Usage: scripts/package-test.sh [DEB]   (as root; needs debootstrap,
# dpkg-dev, debhelper, rsync and access to the Debian archive). With DEB, that
# package is tested instead of one built here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${STASIS_PACKAGE_CACHE:-/var/tmp/stasis-package-cache}
suite=bookworm

log() { echo "package-test: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "run me as root (debootstrap and chroot need root)"
# CRIU is not in bookworm: the root gets the provisioned one (scripts/provision-criu.sh,
# self-contained) at the path the packaged stasisd looks at after its setting.
criu_prefix=${STASIS_CRIU_PREFIX:-/opt/stasis/criu}
[[ -x $criu_prefix/bin/criu ]] ||
  fail "no CRIU in $criu_prefix (scripts/setup.sh provisions it with scripts/provision-criu.sh)"
for tool in debootstrap dpkg-buildpackage dh rsync chroot flock mountpoint; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done

mkdir -p "$cache"
# One run at a time uses the cache (ctest -j, other checkouts).
exec 9>"$cache/lock"
flock 9

# --- the package ------------------------------------------------------------
build_package() {
  # The source is copied into a build dir that is kept, and dpkg-buildpackage
  # runs without its pre-clean: make rebuilds what changed. Only files whose
  # content changed are rewritten (--checksum, mtimes not copied), so each gets
  # a new mtime and make never takes an older object for a newer source.
  src=$cache/build/stasis
  mkdir -p "$src"
  rsync -rlp --checksum --delete \
    --exclude=/.git --exclude='/build*' --exclude=/.cache --exclude=/obj-\* \
    --exclude=/debian/stasis/ --exclude=/debian/.debhelper/ --exclude=/debian/files \
    --exclude='/debian/*.substvars' --exclude='/debian/*debhelper*' \
    "$here/" "$src/"
  rm -f "$cache"/build/*.deb "$cache"/build/*.buildinfo "$cache"/build/*.changes
  log "building the package (log: $cache/build/dpkg-buildpackage.log)"
  if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  fi
  # debian/rules' build stamps would skip the build of changed sources, and
  # CMake's cache would keep the compiler flags of the first build.
  rm -f "$src/debian/debhelper-build-stamp" "$src"/debian/*.debhelper.log \
    "$src"/obj-*/CMakeCache.txt
  # The test is of the packaging, not of the code: built without optimization
  # and debug info, the package builds several times faster.
  if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck noopt parallel=$(nproc)" \
    DEB_CFLAGS_STRIP=-g DEB_CXXFLAGS_STRIP=-g \
    dpkg-buildpackage -us -uc -b -nc) >"$cache/build/dpkg-buildpackage.log" 2>&1; then
    tail -40 "$cache/build/dpkg-buildpackage.log" >&2
    fail "dpkg-buildpackage failed"
  fi
}
if (($# > 0)); then
  deb=$(realpath "$1")
else
  build_package
  debs=("$cache"/build/stasis_*.deb)
  [[ -f ${debs[0]} ]] || fail "dpkg-buildpackage made no stasis_*.deb"
  deb=${debs[0]}
  log "built $(basename "$deb")"
fi

# What the package holds, where Debian's tools look for it.
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/sbin/stasisd ./usr/bin/stasisctl ./lib/systemd/system/stasisd.service \
  ./usr/share/dbus-1/system.d/io.stasis.Stasis1.conf \
  ./usr/share/dbus-1/system-services/io.stasis.Stasis1.service \
  ./usr/lib/tmpfiles.d/stasis.conf ./usr/share/man/man8/stasisd.8.gz \
  ./usr/share/man/man1/stasisctl.1.gz ./usr/share/man/man5/stasis.policy.5.gz \
  ./usr/share/bash-completion/completions/stasisctl ./usr/share/stasis/policy.schema.json \
  ./usr/share/doc/stasis/examples/periodic-service.yaml ./usr/share/doc/stasis/copyright \
  ./etc/default/stasisd; do
  grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done

# --- a fresh minbase root -----------------------------------------------------
pristine=$cache/minbase-$suite
if [[ ! -f $pristine/.complete ]]; then
  log "debootstrap --variant=minbase $suite (once; cached in $pristine)"
  rm -rf --one-file-system "$pristine"
  debootstrap --variant=minbase "$suite" "$pristine" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; fail "debootstrap failed"; }
  touch "$pristine/.complete"
fi

work=$(mktemp -d /var/tmp/stasis-package-test.XXXXXX)
root=$work/root
mounts=()
pids=()
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    if mountpoint -q "${mounts[i]}"; then
      log "left $work in place: ${mounts[i]} is still mounted"
      return
    fi
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
bind() {
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounts+=("$root$2")
}

cp -a "$pristine" "$root"
mkdir -p "$cache/archives/partial"
bind "$cache/archives" /var/cache/apt/archives
bind /proc /proc
bind /sys /sys
bind /dev /dev
bind "$criu_prefix" /opt/stasis/criu
mount -o remount,bind,ro "$root/opt/stasis/criu"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service starts from a maintainer script in this root (the test starts
# the bus itself).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/"

in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"; }
as_nobody() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot --userspec=nobody:nogroup "$root" "$@"
}

log "installing $(basename "$deb") with apt"
export DEBIAN_FRONTEND=noninteractive
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "/tmp/$(basename "$deb")" >>"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; fail "apt-get install of the package"; }

version=$(in_root stasisctl --version) || fail "stasisctl --version"
log "stasisctl --version: $version"
[[ $version == *"$(dpkg-deb -f "$deb" Version)"* ]] || fail "stasisctl --version says '$version'"

# A job, so that `stasisctl jobs` shows the daemon read the policy dir.
mkdir -p "$root/etc/stasis/policy.d"
cat >"$root/etc/stasis/policy.d/package-test.yaml" <<'EOF'
version: 1
jobs:
  - name: package-test-job
    target: {pidfile: /run/package-test.pid}
EOF

mkdir -p "$root/run/dbus"
bus_pid=$(in_root dbus-daemon --system --fork --nopidfile --print-pid) ||
  fail "dbus-daemon --system does not start in the root"
pids+=("$bus_pid")
log "system bus running (pid $bus_pid)"

# The first call activates stasisd (Exec= of the activation file, through
# dbus-daemon-launch-helper: there is no systemd in the root).
jobs_out=$(in_root stasisctl jobs 2>&1) || { echo "$jobs_out" >&2; fail "stasisctl jobs"; }
echo "$jobs_out" >&2
grep -q package-test-job <<<"$jobs_out" || fail "stasisctl jobs does not list package-test-job"

owner=$(in_root dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus \
  /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID \
  string:io.stasis.Stasis1 | awk '{print $2}')
[[ $owner =~ ^[0-9]+$ ]] || fail "nobody owns io.stasis.Stasis1 on the root's system bus"
pids=("$owner" "${pids[@]}")
[[ $(readlink "/proc/$owner/exe") == "$root/usr/sbin/stasisd" ]] ||
  fail "io.stasis.Stasis1 is owned by $(readlink "/proc/$owner/exe"), not the package's stasisd"
log "stasisd (pid $owner) was activated on the root's system bus"

# The package's bus policy lets any user call stasisd (it checks callers
# itself): nobody sees no job of root's policy, and the call works.
nobody_out=$(as_nobody stasisctl jobs 2>&1) || { echo "$nobody_out" >&2; fail "stasisctl jobs as nobody"; }
grep -q package-test-job <<<"$nobody_out" && fail "nobody sees root's job: $nobody_out"
status_out=$(in_root stasisctl engine-info 2>&1) || { echo "$status_out" >&2; fail "stasisctl engine-info"; }
echo "$status_out" >&2

log "PASSED"
