#!/usr/bin/env bash
# libsnesync exports exactly the functions snesync.h marks SNESYNC_API (nothing of the engine's
# insides, nothing missing), and carries its soname. Usage: exports.sh LIBRARY HEADER SOVERSION
set -euo pipefail
lib=$1 header=$2 soversion=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

nm -D --defined-only "$lib" | awk '{print $3}' | sort -u >"$tmp/exported"
grep -v '^[[:space:]]*#' "$header" | grep -oE 'SNESYNC_API[^(;]*[^a-z_0-9(][a-z_][a-z_0-9]*\(' |
  grep -oE '[a-z_][a-z_0-9]*\($' | tr -d '(' | sort -u >"$tmp/declared"
if [ ! -s "$tmp/declared" ]; then
  echo "FAIL: no SNESYNC_API declaration found in $header"; fail=1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$extra" ]; then
  echo "FAIL: exported but not public:"; echo "$extra"; fail=1
fi
if [ -n "$missing" ]; then
  echo "FAIL: public but not exported:"; echo "$missing"; fail=1
fi
[ -n "$extra$missing" ] || echo "ok: exports the $(wc -l <"$tmp/declared") public functions, nothing else"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "libsnesync.so.$soversion" ]; then
  echo "ok: soname $soname"
else
  echo "FAIL: soname '$soname', not libsnesync.so.$soversion"; fail=1
fi
exit $fail
