#!/usr/bin/env bash
# stop.sh SNESYNC SIM: `snesync sync` stopped by SIGTERM (or SIGINT) ends within a few seconds with
# status 143 (130), its report saying so, and keeps what the next run resumes: the same command
# run again picks up the same export (one POST in all), ends in the state of a run that was never
# interrupted, and releases the export once. The stop points are reached through the test hook
# SNESYNC_TEST_TERM_AT=PHASE[:N] (the process sends itself SIGTERM there: after the POST, while
# polling, mid-download, mid-ingest, while sweeping, at the DELETE), then STOP_RUNS (default 20)
# signals from outside after a random delay (the seed printed; STOP_SEED replays it), landing
# while polling, while a trickled download runs, or after the run ended (status 0 then).
DEMANDS=${SYNC_TEST_DEMANDS:-1500}
export SNESYNC_TEST_BATCH_DEMANDS=1000 # a commit mid-way through the ingest
. "$(dirname "$0")/lib.sh"

make_base_and_ref

# report_field NAME: a member of the report (the last line of OUT).
report_field() {
    printf '%s\n' "$OUT" | tail -n 1 |
        python3 -c "import json,sys; v=json.load(sys.stdin)['$1']; print(json.dumps(v))"
}

# stopped NAME HOOK [server args]: a fresh copy of the base store; one run stopped by the hook.
stopped() {
    NAME=$1
    local hook=$2 t0
    shift 2
    fresh_store "$NAME"
    start_server "$T/r2" "$@" || return 1
    t0=$(date +%s.%N)
    SNESYNC_TEST_TERM_AT=$hook sync_all "$S"
    check "$NAME: the run stopped on SIGTERM (143)" 143 "$RC"
    check_match "$NAME: said so" "stopped by a signal" "$ERR"
    check "$NAME: its report" "false 143" "$(report_field ok) $(report_field exitStatus)"
    check "$NAME: within 5 s" 1 "$(echo "$(date +%s.%N) - $t0 < 5" | bc)"
}

stopped posted posted
restarted
stop_server

stopped polling polling:1 --faults export:slow@30
check "$NAME: not released while polling" 0 "$(count_log 'DELETE /v1.0/exports')"
restarted
stop_server

stopped download downloading:300000
check_match "$NAME: a partial archive is kept" '^[1-9]' "$(stat -c %s "$S.work/sync/"*.part)"
check "$NAME: not released mid-download" 0 "$(count_log 'DELETE /v1.0/exports')"
restarted
check_match "$NAME: resumed from the bytes on disk" '^[1-9]' "$(jfield resumedFrom)"
stop_server

# (the archive is small: read ahead whole before the signal, it is ingested to its end, and the
# stop comes before the release)
stopped ingest ingesting:1000
restarted
stop_server

stopped sweep sweeping
restarted
check "$NAME: the restarted run did not ingest again" false "$(jfield ingested)"
stop_server

stopped release releasing
check "$NAME: the DELETE was cut, not made" 0 "$(count_log 'DELETE /v1.0/exports/.* -> 204')"
restarted
check "$NAME: the restarted run did not ingest again" false "$(jfield ingested)"
stop_server

# From outside, after a random delay: a slow generation (2 s), then a download that trickles
# (cut after 2 s by --stall-timeout and retried at full speed). SIGINT every third run.
RUNS=${STOP_RUNS:-20}
SEED=${STOP_SEED:-$RANDOM}
echo "# $RUNS signals from outside, seed $SEED (STOP_SEED replays it)"
RANDOM=$SEED
for i in $(seq "$RUNS"); do
    NAME="outside-$i"
    sig=TERM want=143
    [ $((i % 3)) -eq 0 ] && sig=INT want=130
    delay=$(printf '%d.%03d' $((RANDOM % 5)) $((300 + RANDOM % 700))) # the handlers are in place
    fresh_store "$NAME"
    start_server "$T/r2" --faults export:slow@2,file:trickle@5*1 || break
    "$SNESYNC" sync --server "$URL" --store "$S" --entities "$ALL" --stall-timeout 2 --json \
        >"$T/out" 2>"$T/err" &
    pid=$!
    sleep "$delay"
    t0=$(date +%s.%N)
    kill -s "$sig" "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    rc=$?
    took=$(echo "$(date +%s.%N) - $t0" | bc)
    if [ "$rc" = "$want" ] || [ "$rc" = 0 ]; then
        ok "$NAME: SIG$sig after $delay s: exit $rc in $took s"
    else
        not_ok "$NAME: SIG$sig after $delay s: exit $rc (want $want, or 0 when the run had ended): $(tail -n 3 "$T/err")"
    fi
    check "$NAME: ended within 5 s of the signal" 1 "$(echo "$took < 5" | bc)"
    cp "$T/out" "$T/out.first"
    sync_all "$S" --stall-timeout 2
    check "$NAME: the next run exits 0" 0 "$RC"
    mv "$T/out" "$T/out.next"; mv "$T/out.first" "$T/out"
    same_as_ref
    if [ "$rc" = "$want" ]; then
        OUT=$(cat "$T/out")
        check "$NAME: the stopped run's report" "false $want" "$(report_field ok) $(report_field exitStatus)"
        OUT=$(cat "$T/out.next" 2>/dev/null)
        check "$NAME: one export requested in all" 1 "$(count_log 'POST /v1.0/exports -> 202')"
        check "$NAME: released once" 1 "$(count_log 'DELETE /v1.0/exports/.* -> 204')"
    fi
    stop_server
done

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
