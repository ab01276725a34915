#!/usr/bin/env bash
# examples/follow_changes.c builds against the installed tree alone, found by pkg-config in a
# temporary DESTDIR, runs on the installed libsnesync, and prints one line per change: as many as
# `snesync changes` prints, from the start and from a cursor mid-way.
# Usage: example.sh CC BUILD_DIR SOURCE_DIR LIBDIR [EXTRA_CFLAGS]
set -euo pipefail
cc=$1 build=$2 src=$3 libdir=$4 extra=${5:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
DESTDIR="$dest" cmake --install "$build" --prefix /usr >/dev/null
fail=0

# Only the DESTDIR's snesync.pc is looked at (PKG_CONFIG_LIBDIR replaces the system's path); its
# prefix follows from where it lies, so no sysroot is needed.
export PKG_CONFIG_LIBDIR="$dest/usr/$libdir/pkgconfig" PKG_CONFIG_PATH=''
flags=$(pkg-config --cflags --libs snesync)
echo "pkg-config: $flags"
real_dest=$(cd "$dest" && pwd -P)
for f in $flags; do
  case "$f" in
    -I* | -L*)
      dir=$(cd "${f:2}" 2>/dev/null && pwd -P) || dir="${f:2} (missing)"
      case "$dir" in
        "$real_dest"/*) ;;
        *) echo "FAIL: $f is not in the installed tree"; fail=1 ;;
      esac ;;
  esac
done
# shellcheck disable=SC2086 # the flags are words
env -u CPATH -u C_INCLUDE_PATH -u LIBRARY_PATH "$cc" -std=c11 -Wall -Wextra -Werror $extra \
  "$src/examples/follow_changes.c" $flags -o "$tmp/follow_changes"
if readelf -d "$tmp/follow_changes" | grep -q 'NEEDED.*\[libsnesync\.so\.[0-9]*\]'; then
  echo "ok: the example builds against the installed header and links libsnesync"
else
  echo "FAIL: the example does not need libsnesync"; fail=1
fi
export LD_LIBRARY_PATH="$dest/usr/$libdir"
case "$(ldd "$tmp/follow_changes" | grep libsnesync)" in
  *"$dest"*) echo "ok: it runs on the installed library" ;;
  *) echo "FAIL: it does not run on the installed library"; fail=1 ;;
esac

snesync=$dest/usr/bin/snesync
"$snesync" ingest --store "$tmp/store" "$src/data-samples/sample-initial.tar.gz" >/dev/null
total=$("$snesync" changes --store "$tmp/store" | wc -l)
half=$((total / 2))
for since in 0 "$half"; do
  expected=$("$snesync" changes --store "$tmp/store" --since "$since" | wc -l)
  got=$("$tmp/follow_changes" "$tmp/store" "$since" 2>"$tmp/err" | wc -l)
  if [ "$expected" -gt 0 ] && [ "$got" = "$expected" ]; then
    echo "ok: since $since, $got changes, as snesync changes prints"
  else
    echo "FAIL: since $since, the example printed $got changes, snesync changes $expected"
    cat "$tmp/err"; fail=1
  fi
done
grep -q "^libsnesync $("$snesync" --version | cut -d' ' -f2)\$" "$tmp/err" ||
  { echo "FAIL: the example does not print the library's version"; fail=1; }

# A cursor past the last change is refused (another store), with the store's reason.
if "$tmp/follow_changes" "$tmp/store" $((total + 1)) >/dev/null 2>"$tmp/err"; then
  echo "FAIL: a cursor past the end was accepted"; fail=1
else
  echo "ok: a cursor past the end is refused: $(tail -1 "$tmp/err")"
fi
exit $fail
