#!/bin/bash
# check.sh BENCH_RUN SNESYNC SNESYNC_SIM: bench/run --demands 300 --runs 1 produces its table.
set -u
RUN=${1:?usage: $0 BENCH_RUN SNESYNC SNESYNC_SIM}
SNE=${2:?}
SIM=${3:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

peer=""
if python3 -c 'import lxml.etree' 2>/dev/null || /usr/bin/python3 -c 'import lxml.etree' 2>/dev/null
then
    ids="gunzip F sax F-m2 sax-m2 F-drm initial resync next drm peer-init peer-resync"
else
    echo "# lxml is not importable (apt-get install python3-lxml): the peer is skipped"
    peer="--no-peer"
    ids="gunzip F sax F-m2 sax-m2 F-drm initial resync next drm"
fi

if ! python3 "$RUN" --demands 300 --runs 1 --work "$T/work" --snesync "$SNE" --sim "$SIM" \
        --no-install $peer --out "$T/report.md" >"$T/stdout" 2>"$T/stderr"; then
    echo "not ok - bench/run failed"; cat "$T/stderr"; exit 1
fi
cat "$T/stdout"
fail=0
for id in $ids; do
    # a row: | id | contender | median s | ... with a number as the median
    if ! grep -Eq "^\| $id +\| .* \| [0-9]+\.[0-9]+ +\|" "$T/report.md"; then
        echo "not ok - no timing row for $id"; fail=1
    fi
done
for ratio in "snesync initial load / SAX floor" "snesync unchanged resync / SAX floor" \
             "snesync next month / SAX floor on A2" "snesync DRM refresh / F(D2)" \
             "LMDB data.mdb after initial / XML"; do
    grep -Fq "| $ratio" "$T/report.md" || { echo "not ok - no ratio row '$ratio'"; fail=1; }
done
if [ -z "$peer" ]; then
    grep -Fq "| peer / snesync, initial load" "$T/report.md" || {
        echo "not ok - no peer ratio"; fail=1; }
fi
if grep -q "pg-apply left out" "$T/stderr"; then
    echo "# $(grep -o 'pg-apply left out.*' "$T/stderr")"
else
    for id in pg-initial pg-next; do
        grep -Eq "^\| $id +\| .* \| [0-9]+\.[0-9]+ +\|" "$T/report.md" || {
            echo "not ok - no timing row for $id"; fail=1; }
    done
    for ratio in "pg-apply initial load / snesync initial load" \
                 "pg-apply next month / snesync next month" "pg-initial: rows/s"; do
        grep -Fq "| $ratio" "$T/report.md" || { echo "not ok - no ratio row '$ratio'"; fail=1; }
    done
fi
grep -Eq "^- versions: .*libxml2" "$T/report.md" || { echo "not ok - no versions line"; fail=1; }
# at this size a thread may end before its first clock tick: only the section is sure to be there
grep -q "^Stages: " "$T/report.md" || { echo "not ok - no stages"; fail=1; }
[ "$fail" = 0 ] && echo "ok - bench/run produced its table"
exit $fail
