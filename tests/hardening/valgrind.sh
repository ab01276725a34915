#!/usr/bin/env bash
# valgrind.sh: memcheck on an ingest + changes + show of a small archive (the contract sample).
#   1. the snesync program itself: `ingest`, `changes --since 0`, `show` of one demand;
#   2. vg_driver (the same through the library API, with a 1 GiB map), showing every demand.
# Each must exit 0 with no memcheck error (--error-exitcode=1 --leak-check=full).
# usage: valgrind.sh SNESYNC VG_DRIVER ARCHIVE      (exit 77 = skipped: no valgrind)
set -u
snesync=$1 driver=$2 archive=$3
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
tmp=$(mktemp -d "${HARDENING_TMP:-${TMPDIR:-/tmp}}/snesync-valgrind-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=30)
# memcheck's leak check scans every mapped page, and the store's default map is 64 GiB of address
# space: that made each snesync run take over a minute (the test timed out on a loaded machine).
# A 1 GiB map, as vg_driver uses, runs the same code in seconds.
export SNESYNC_MAP_SIZE=$((1 << 30))
fail=0
run() {
    local what=$1
    shift
    echo "== $what"
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc != 0 ]; then
        echo "FAIL $what: exit $rc"
        cat "$tmp/err"
        fail=1
    fi
    head -c 300 "$tmp/out"
    echo
}
num=$(zcat "$archive" | grep -ao '<[a-z0-9]*:*numUnique>[0-9A-Z]*<' | head -1 | sed 's/.*>\([0-9A-Z]*\)</\1/')
run "snesync ingest" "${vg[@]}" "$snesync" ingest --store "$tmp/store" "$archive"
run "snesync changes" "${vg[@]}" "$snesync" changes --store "$tmp/store" --since 0
run "snesync show $num" "${vg[@]}" "$snesync" show --store "$tmp/store" "$num"
run "vg_driver (library API, 1 GiB map)" "${vg[@]}" "$driver" "$tmp/store2" "$archive"
[ $fail = 0 ] && echo "valgrind: clean"
exit $fail
