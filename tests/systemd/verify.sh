#!/bin/sh
# verify.sh SOURCE_DIR BUILD_DIR: `systemd-analyze verify` finds nothing to say of the installed
# units. They are installed for a prefix of their own, with the snesync binary at the path their
# ExecStart names and the manual page their Documentation= names, since verify checks both. A unit with a misspelt key must
# draw a complaint, so that a verify that says nothing is known to be listening.
set -eu
src=$1 build=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (apt-get install systemd)"; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

cmake -S "$src" -B "$t/build" -DCMAKE_INSTALL_PREFIX="$t/prefix" -DSNESYNC_BUILD_TESTS=OFF \
      -DSNESYNC_BUILD_SIM=OFF >"$t/configure.log" 2>&1 || { cat "$t/configure.log"; exit 1; }
cmake --build "$t/build" --target man >/dev/null
cmake --install "$t/build" --component systemd >/dev/null
cmake --install "$t/build" --component man >/dev/null
mkdir -p "$t/prefix/bin"
cp "$build/engine/snesync" "$t/prefix/bin/snesync"

units="$t/prefix/lib/systemd/system"
n=$(ls "$units" | wc -l)
[ "$n" -eq 6 ] || { echo "expected 6 units in $units, found $n:"; ls "$units"; exit 1; }

cd "$units"
if ! MANPATH="$t/prefix/share/man" systemd-analyze verify ./*.service ./*.timer >"$t/verify.out" 2>&1 || [ -s "$t/verify.out" ]; then
  echo "systemd-analyze verify complains:"; cat "$t/verify.out"; exit 1
fi

mkdir "$t/bad"
sed 's/^ProtectSystem=/ProtectSistem=/' snesync-sync.service >"$t/bad/snesync-sync.service"
systemd-analyze verify --man=no "$t/bad/snesync-sync.service" >"$t/bad.out" 2>&1 || true
grep -q ProtectSistem "$t/bad.out" || { echo "a misspelt key drew no complaint:"; cat "$t/bad.out"; exit 1; }
echo "units verified: $(ls | tr '\n' ' ')"
