# report.sh: --json and --metrics-file on good and failed runs: ingest (a good archive, then one
# that is not gzip), sync against the simulator (a good run, then the server gone; a poll
# answered 503 once, then a POST answered 503 until retries are spent: the retries), the read
# commands (their failure report), a metrics file that cannot be written. check_report.py parses
# both outputs and checks every value.
#   report.sh PATH/TO/snesync PATH/TO/snesync-sim SAMPLE.tar.gz
DEMANDS=${DEMANDS:-200}
. "$(dirname "${BASH_SOURCE[0]}")/../sync/lib.sh"
SAMPLE=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
CHECK="python3 $(dirname "${BASH_SOURCE[0]}")/check_report.py"
M=$T/metrics
mkdir -p "$M"

# verify NAME COMMAND STATUS [KEY=VALUE...] [-- PREVIOUS]: check_report.py on $T/out and the
# metrics file of COMMAND.
verify() {
    local name=$1
    shift
    if $CHECK "$T/out" "$M/$1.prom" "$@" >"$T/check" 2>&1; then
        ok "$name"
    else
        not_ok "$name: $(grep -v '^ok' "$T/check" | head -n 5)"
    fi
}

S=$T/store
"$SNESYNC" ingest --store "$S" --json --metrics-file "$M/ingest.prom" "$SAMPLE" >"$T/out" 2>"$T/err"
check "ingest: exit 0" 0 "$?"
verify "ingest: report and metrics of a good run" ingest 0 firstSeq=1 'export="X20261031A0001"' \
    retries=null
LAST_S=$(last_seq "$S")
cp "$M/ingest.prom" "$T/previous.prom"
head -c 1000 /dev/urandom >"$T/bad.tar.gz"
"$SNESYNC" ingest --store "$S" --json --metrics-file "$M/ingest.prom" "$T/bad.tar.gz" >"$T/out" 2>"$T/err"
check "ingest of a bad archive: exit 3" 3 "$?"
verify "ingest: report and metrics of a failed run" ingest 3 firstSeq=null "storeLastSeq=$LAST_S" \
    'error="archive: not a gzip-compressed tar archive"' -- "$T/previous.prom"
check "no temporary file left beside the metrics" "ingest.prom" "$(ls "$M")"

make_registers
start_server "$T/r1" || exit 1
"$SNESYNC" sync --server "$URL" --store "$T/s2" --entities "$ALL" --json \
    --metrics-file "$M/sync.prom" >"$T/out" 2>"$T/err"
check "sync: exit 0" 0 "$?"
verify "sync: report and metrics of a good run" sync 0 firstSeq=1 released=true ingested=true \
    retries=0
cp "$M/sync.prom" "$T/previous.prom"
LAST=$(last_seq "$T/s2")
stop_server
"$SNESYNC" sync --server "$URL" --store "$T/s2" --entities "$ALL" --retries 0 --json \
    --metrics-file "$M/sync.prom" >"$T/out" 2>"$T/err"
check "sync, the server gone: exit 7" 7 "$?"
verify "sync: report and metrics of a failed run" sync 7 "storeLastSeq=$LAST" firstSeq=null \
    ingested=false retries=0 -- "$T/previous.prom"

# Retries: every request of the run counts (a poll retried, then more polls, the download and the
# DELETE made at once), a failed run's too. The metrics file carries the report's number.
start_server "$T/r1" --faults 'status:503' || exit 1
"$SNESYNC" sync --server "$URL" --store "$T/s3" --entities "$ALL" --json \
    --metrics-file "$M/sync.prom" >"$T/out" 2>"$T/err"
check "sync, a poll answered 503 once: exit 0" 0 "$?"
verify "sync: a poll retried once, reported" sync 0 retries=1 released=true
stop_server
start_server "$T/r1" --faults 'post:503*always' || exit 1
"$SNESYNC" sync --server "$URL" --store "$T/s4" --entities "$ALL" --retries 2 --json \
    --metrics-file "$M/sync.prom" >"$T/out" 2>"$T/err"
check "sync, every POST answered 503: exit 7" 7 "$?"
verify "sync: the retries of a run that gave up, reported" sync 7 retries=2 ingested=false
stop_server

# The read commands print their data on success, their report only when they fail; a command
# line that does not parse still gets its report.
jline() { tail -n 1 "$T/out" | python3 -c "import json,sys; r=json.load(sys.stdin); print(r['$1'])"; }
"$SNESYNC" changes --store "$S" --json --since 999999 >"$T/out" 2>/dev/null
check "changes past the last seq: exit 8" 8 "$?"
check "changes: the report's exitStatus" 8 "$(jline exitStatus)"
check_match "changes: the report's error names the last seq" "last seq $LAST_S " "$(jline error)"
"$SNESYNC" changes --store "$S" --json --since 0 >"$T/out" 2>/dev/null
check "changes that succeed: change lines only" 0 "$(grep -c '"ok":' "$T/out")"
"$SNESYNC" show --store "$S" --json 0000000000000X0000 >"$T/out" 2>/dev/null
check "show of a missing demand: the report" 9 "$(jline exitStatus)"
"$SNESYNC" stats --store "$S" --json --bogus >"$T/out" 2>/dev/null
check "a bad option: the report" "False 2" "$(jline ok) $(jline exitStatus)"
"$SNESYNC" stats --store "$S" --metrics-file "$M/x" >/dev/null 2>&1
check "--metrics-file is for the scheduled commands only" 2 "$?"

# A metrics file that cannot be written fails a run that succeeded, and says why.
"$SNESYNC" ingest --store "$S" --json --metrics-file "$T/nodir/m.prom" "$SAMPLE" >"$T/out" 2>"$T/err"
check "an unwritable metrics file: exit 1" 1 "$?"
check_match "an unwritable metrics file: said" "cannot write the metrics file .*nodir/m.prom" "$(cat "$T/err")"
check "an unwritable metrics file: the report says it" "False 1" "$(jline ok) $(jline exitStatus)"

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
