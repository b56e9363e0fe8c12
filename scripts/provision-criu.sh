#!/usr/bin/env bash
# Provision a working CRIU for stasis.
#
# Order: a `criu` on PATH whose `criu check` passes is used as it is.
# Otherwise the newest CRIU from Debian's sid suite is fetched with a private
# apt configuration (the system's sources are never touched), unpacked with
# dpkg -x into a private prefix, and pointed at that prefix's loader and
# libraries with patchelf. Idempotent: a second run returns in about a second.
#
# Usage: provision-criu.sh [PREFIX]   (default /opt/stasis/criu)
# Prints the path of the working criu binary on its last line.
set -euo pipefail

prefix=${1:-${STASIS_CRIU_PREFIX:-/opt/stasis/criu}}
suite=${STASIS_CRIU_SUITE:-sid}
mirror=${STASIS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

log() { echo "provision-criu: $*" >&2; }

criu_works() { "$1" check >/dev/null 2>&1; }

# 1. Already provisioned privately?
if [[ -x "$prefix/bin/criu" ]] && criu_works "$prefix/bin/criu"; then
    log "using $prefix/bin/criu ($("$prefix/bin/criu" --version | head -1))"
    echo "$prefix/bin/criu"
    exit 0
fi

# 2. A working criu on PATH?
if sys_criu=$(command -v criu 2>/dev/null) && criu_works "$sys_criu"; then
    log "using $sys_criu from PATH ($("$sys_criu" --version | head -1))"
    echo "$sys_criu"
    exit 0
fi

# 3. Fetch from Debian $suite into a private prefix.
log "no working criu found; fetching criu from Debian $suite into $prefix"
apt_root="$prefix/apt"
root="$prefix/root"
rm -rf "$root" "$prefix/bin"
mkdir -p "$apt_root"/{lists/partial,cache/archives/partial,etc/parts,etc/prefs,debs} "$root" "$prefix/bin"
echo "deb $mirror $suite main" >"$apt_root/etc/sources.list"
: >"$apt_root/status"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_root/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt_root/etc/parts"
    -o "Dir::Etc::Preferences=$apt_root/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_root/etc/prefs"
    -o "APT::Sandbox::User=root"
    -o "Dir::State::Lists=$apt_root/lists"
    -o "Dir::State::Status=$apt_root/status"
    -o "Dir::Cache=$apt_root/cache"
    -o "APT::Architecture=$arch"
    -o "APT::Architectures=$arch"
    -o "Acquire::Languages=none"
    # sid's Release files carry a one-week Valid-Until that mirror snapshots outlive;
    # signatures are still checked against the system keyring.
    -o "Acquire::Check-Valid-Until=false"
    -o "APT::Get::List-Cleanup=0"
)
apt-get "${apt_opts[@]}" -qq update

# The closure of criu's run-time dependencies (Depends and Pre-Depends only).
mapfile -t pkgs < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends \
    --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances criu |
    grep -v '^ ' | grep -v '^<' | sort -u)
# Packages that are only interpreters or data, not libraries criu loads.
skip='^(python3.*|perl.*|debconf.*|dpkg|tar|coreutils|gcc-.*-base|install-info|libpython3.*|media-types|tzdata|readline-common|netbase|sensible-utils|iproute2|init-system-helpers|mawk|bash|base-files|debianutils|sed|grep|diffutils|findutils|util-linux.*|login.*|passwd|libpam.*)$'
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | grep -Ev "$skip")
log "downloading ${#pkgs[@]} packages: ${pkgs[*]}"
(cd "$apt_root/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]}")
for deb in "$apt_root"/debs/*.deb; do
    dpkg -x "$deb" "$root"
done

criu_bin=$(find "$root" -path '*/sbin/criu' -type f | head -1)
[[ -n "$criu_bin" ]] || { log "criu binary not found in the downloaded packages"; exit 1; }
loader=$(find "$root" -name 'ld-linux-*.so.*' \( -type f -o -type l \) | sort | head -1)
[[ -n "$loader" ]] || { log "no dynamic loader in the downloaded libc6"; exit 1; }
rpath="$root/usr/lib/$triplet:$root/lib/$triplet:$root/usr/lib:$root/lib"
cp "$criu_bin" "$prefix/bin/criu"
patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$rpath" "$prefix/bin/criu"
rm -rf "$apt_root/debs" "$apt_root/cache"

if ! out=$("$prefix/bin/criu" check 2>&1); then
    log "the provisioned criu does not pass 'criu check':"
    echo "$out" >&2
    exit 1
fi
log "provisioned $prefix/bin/criu ($("$prefix/bin/criu" --version | head -1)): $out"
echo "$prefix/bin/criu"
