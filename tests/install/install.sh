#!/usr/bin/env bash
# `cmake --install` into a DESTDIR gives the documented layout (the library with its soname links,
# its header and pkg-config file among it), and the installed snesync finds its export XSD through
# the install prefix, also once the installed tree is moved elsewhere (never through the source
# tree). Usage: install.sh BUILD_DIR CONTRACT_SAMPLE LIBDIR INCLUDEDIR VERSION SOVERSION
set -euo pipefail
build=$1 sample=$2 libdir=$3 includedir=$4 version=$5 soversion=$6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/dest" cmake --install "$build" --prefix /usr >/dev/null
fail=0
for f in usr/bin/snesync usr/bin/snesync-sim usr/share/snesync/export.xsd \
         usr/share/snesync/samples/sample-initial.tar.gz usr/share/doc/snesync/LICENSE \
         "usr/$includedir/snesync.h" "usr/$libdir/libsnesync.so.$version" \
         "usr/$libdir/pkgconfig/snesync.pc"; do
  if [ -f "$tmp/dest/$f" ]; then echo "ok: installed $f"; else echo "FAIL: $f not installed"; fail=1; fi
done
# The links a program finds the library by: the soname (at run time), the bare name (to link).
for link in "libsnesync.so.$soversion:libsnesync.so.$version" "libsnesync.so:libsnesync.so.$soversion"; do
  name=${link%%:*} target=${link#*:}
  if [ "$(readlink "$tmp/dest/usr/$libdir/$name" || true)" = "$target" ]; then
    echo "ok: usr/$libdir/$name -> $target"
  else
    echo "FAIL: usr/$libdir/$name is not a link to $target"; fail=1
  fi
done
pc=$tmp/dest/usr/$libdir/pkgconfig/snesync.pc
if [ "$(PKG_CONFIG_LIBDIR="${pc%/*}" PKG_CONFIG_PATH='' pkg-config --modversion snesync)" = "$version" ]; then
  echo "ok: pkg-config reads snesync.pc, version $version"
else
  echo "FAIL: pkg-config does not give version $version from $pc"; fail=1
fi

# Moved away from both the build tree and the install prefix: the XSD is found beside the binary.
mv "$tmp/dest/usr" "$tmp/moved"
out=$(cd / && env -u SNESYNC_DATADIR "$tmp/moved/bin/snesync" validate "$sample" 2>&1) || {
  echo "FAIL: the moved snesync cannot validate: $out"; fail=1; }
case "$out" in *"valid against the schema"*) echo "ok: the moved tree validates ($out)" ;; esac

# The override is the only place looked at when set.
if SNESYNC_DATADIR="$tmp/nowhere" "$tmp/moved/bin/snesync" validate "$sample" >/dev/null 2>&1; then
  echo "FAIL: SNESYNC_DATADIR pointing nowhere still validated"; fail=1
else
  echo "ok: SNESYNC_DATADIR overrides the lookup"
fi
exit $fail
