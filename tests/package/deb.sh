#!/bin/sh
# deb.sh SOURCE_DIR: the Debian packages build from a clean copy of the tree, lintian finds no
# error or warning in them, and, installed into a root of their own, they give a snesync that
# validates and ingests the bundled sample and a libsnesync that a program built with
# `pkg-config --cflags --libs snesync` follows the change log through.
#
# The tree is copied without its build directories and .git (the working tree, not a commit, is
# what is packaged); the package's own build runs no tests (DEB_BUILD_OPTIONS=nocheck: the suite
# runs them). The packages are installed with dpkg, maintainer scripts included, into a root of
# their own (`dpkg --root` with an empty package database), then purged: the scripts run outside
# a chroot with DPKG_ROOT set (--force-script-chrootless), as debhelper's and deb-systemd-helper
# support, so the machine's own /usr, /etc and /var are untouched (checked). The root holds none
# of the packages' dependencies (libc, libxml2...): dpkg is told to install without them
# (--force-depends) and the programs run with the machine's.
set -eu
src=$(cd "$1" && pwd)
for tool in dpkg-buildpackage dh lintian pkg-config cc; do
  command -v "$tool" >/dev/null ||
    { echo "$tool not found (./setup.sh --deps-only installs what the package build needs)"; exit 1; }
done
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

mkdir "$t/src"
(cd "$src" && tar --exclude='./build*' --exclude=./.git --exclude='./snesync.store*' -cf - .) |
  tar -C "$t/src" -xf -
if ! (cd "$t/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
      dpkg-buildpackage -b -us -uc >"$t/build.log" 2>&1); then
  tail -40 "$t/build.log"; echo "dpkg-buildpackage failed"; exit 1
fi
for p in snesync libsnesync1 libsnesync-dev; do
  ls "$t"/${p}_*.deb >/dev/null 2>&1 || { echo "package $p was not built"; ls "$t"; exit 1; }
done

# E: and W: tags fail; I: (informational: French words taken for misspellings) are allowed.
lintian --tag-display-limit 0 "$t"/*.changes >"$t/lintian.out" 2>&1 || true
if grep -E '^[EW]: ' "$t/lintian.out"; then echo "lintian finds the above"; exit 1; fi

root="$t/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
host_state=/var/lib/systemd/deb-systemd-helper-enabled
host_before=$(find "$host_state" 2>/dev/null | sort | md5sum)
in_root() { dpkg --root="$root" --force-script-chrootless --force-depends "$@"; }
if ! in_root -i "$t"/snesync_*.deb "$t"/libsnesync1_*.deb "$t"/libsnesync-dev_*.deb \
     >"$t/dpkg.log" 2>&1; then
  cat "$t/dpkg.log"; echo "dpkg -i of the three packages failed"; exit 1
fi
for p in snesync libsnesync1 libsnesync-dev; do
  status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' "$p")
  [ "$status" = "install ok installed" ] || { echo "$p after dpkg -i: '$status'"; exit 1; }
done
# snesync's postinst records its (never enabled) units with deb-systemd-helper: in the root
[ -d "$root/var/lib/systemd/deb-systemd-helper-enabled" ] ||
  { echo "snesync's postinst left no systemd unit state in the root"; exit 1; }
bin="$root/usr/bin/snesync"
version=$(sed -n 's/^project(snesync VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
"$bin" --version | grep -q "$version" || { echo "snesync --version does not say $version"; exit 1; }
sample="$root/usr/share/snesync/samples/sample-initial.tar.gz"
"$bin" validate "$sample" >/dev/null
"$bin" ingest --store "$t/store" "$sample" >/dev/null
held=$("$bin" changes --store "$t/store" | wc -l)
[ "$held" -gt 0 ] || { echo "the packaged snesync logged no change for the sample"; exit 1; }

libdir=$(dirname "$(find "$root/usr/lib" -name 'libsnesync.so.1' | head -1)")
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's words are meant to split
cc -o "$t/follow_changes" "$root/usr/share/doc/libsnesync-dev/examples/follow_changes.c" \
   $(pkg-config --cflags --libs snesync)
followed=$(LD_LIBRARY_PATH="$libdir" "$t/follow_changes" "$t/store" 0 2>/dev/null | wc -l)
[ "$followed" -eq "$held" ] ||
  { echo "the example built on libsnesync-dev followed $followed changes, snesync changes $held"; exit 1; }

if ! in_root --purge libsnesync-dev snesync libsnesync1 >>"$t/dpkg.log" 2>&1; then
  cat "$t/dpkg.log"; echo "dpkg --purge of the three packages failed"; exit 1
fi
left=$(find "$root" -mindepth 1 \( -path "$root/var/lib/dpkg" -o -path "$root/var/lib/dpkg/*" \) \
         -prune -o ! -type d -print)
[ -z "$left" ] || { echo "files left behind by the purge:"; echo "$left"; exit 1; }
[ "$(find "$host_state" 2>/dev/null | sort | md5sum)" = "$host_before" ] ||
  { echo "the maintainer scripts changed the machine's $host_state"; exit 1; }
echo "packages built and lint-clean; installed with dpkg: sample ingested ($held changes)," \
     "example followed them; purged without a trace"
