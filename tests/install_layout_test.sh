#!/usr/bin/env bash
# `cmake --install` into a staging dir with a prefix given only at install
# time: every file lands under that prefix (the D-Bus policy where the system
# bus reads it), and the unit's ExecStart= and the activation file's Exec=
# name the stasisd installed there.
# Usage: install_layout_test.sh BUILD_DIR
set -euo pipefail
build=$1
stage=$(mktemp -d "${TMPDIR:-/tmp}/stasis-install-test.XXXXXX")
trap 'rm -rf "$stage"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

prefix=/opt/stasis-install-test
DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >"$stage.log" 2>&1 ||
  { cat "$stage.log" >&2; rm -f "$stage.log"; fail "cmake --install"; }
rm -f "$stage.log"
root=$stage$prefix
for file in sbin/stasisd bin/stasisctl lib/systemd/system/stasisd.service \
  lib/tmpfiles.d/stasis.conf share/dbus-1/system-services/io.stasis.Stasis1.service \
  share/bash-completion/completions/stasisctl share/stasis/policy.schema.json; do
  [[ -f $root/$file ]] || fail "$prefix/$file was not installed"
done
[[ -f $stage/etc/dbus-1/system.d/io.stasis.Stasis1.conf ]] ||
  fail "the D-Bus policy is not in /etc/dbus-1/system.d (the system bus does not read $prefix/share)"
# Nothing else outside the prefix.
outside=$(cd "$stage" && find . -type f | grep -v "^\.$prefix/" | grep -vx './etc/dbus-1/system.d/io.stasis.Stasis1.conf' || true)
[[ -z $outside ]] || fail "installed outside $prefix: $outside"

grep -qx "ExecStart=$prefix/sbin/stasisd --bus system .*" "$root/lib/systemd/system/stasisd.service" ||
  fail "ExecStart= does not name $prefix/sbin/stasisd: $(grep ExecStart= "$root/lib/systemd/system/stasisd.service")"
grep -qx "EnvironmentFile=-/etc/default/stasisd" "$root/lib/systemd/system/stasisd.service" ||
  fail "the unit lacks EnvironmentFile=-/etc/default/stasisd"
grep -qx "Alias=dbus-io.stasis.Stasis1.service" "$root/lib/systemd/system/stasisd.service" ||
  fail "the unit lacks Alias=dbus-io.stasis.Stasis1.service"
activation=$root/share/dbus-1/system-services/io.stasis.Stasis1.service
grep -qx "Exec=$prefix/sbin/stasisd --bus system" "$activation" ||
  fail "the activation file's Exec= does not name $prefix/sbin/stasisd"
grep -qx "SystemdService=dbus-io.stasis.Stasis1.service" "$activation" ||
  fail "the activation file does not name the unit's alias"
# The bus name the unit, the activation file and the policy agree on.
name=$(sed -n 's/^BusName=//p' "$root/lib/systemd/system/stasisd.service")
[[ $name == io.stasis.Stasis1 ]] || fail "BusName=$name"
grep -qx "Name=$name" "$activation" || fail "the activation file is not for $name"
grep -q "<allow own=\"$name\"/>" "$stage/etc/dbus-1/system.d/io.stasis.Stasis1.conf" ||
  fail "the D-Bus policy does not let root own $name"
echo "ok: cmake --install --prefix $prefix"
