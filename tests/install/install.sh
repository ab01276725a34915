#!/usr/bin/env bash
# `cmake --install` into a DESTDIR gives the documented layout, and the installed snesync finds
# its export XSD through the install prefix, also once the installed tree is moved elsewhere
# (never through the source tree). Usage: install.sh BUILD_DIR CONTRACT_SAMPLE
set -euo pipefail
build=$1 sample=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/dest" cmake --install "$build" --prefix /usr >/dev/null
fail=0
for f in usr/bin/snesync usr/bin/snesync-sim usr/share/snesync/export.xsd \
         usr/share/snesync/samples/sample-initial.tar.gz usr/share/doc/snesync/LICENSE; do
  if [ -f "$tmp/dest/$f" ]; then echo "ok: installed $f"; else echo "FAIL: $f not installed"; fail=1; fi
done

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
