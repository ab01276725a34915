#!/usr/bin/env bash
# kill.sh SNESYNC SIM: `snesync sync` killed with SIGKILL at each phase (after the POST, while
# polling, mid-download, mid-ingest, while sweeping, before the DELETE), then run again with the
# same command: it picks up the same export (one POST in all) and ends in the state of a run that
# was never interrupted, with no change emitted twice. The kill points are reached through the
# test hook SNESYNC_TEST_KILL_AT=PHASE[:N] (the process raises SIGKILL itself, so the point is
# exact; SNESYNC_TEST_BATCH_DEMANDS makes the ingest commit mid-way); one more kill comes from
# outside, while polling, and one between the server's accepting the POST and the run's noting
# the export down (an orphan export on the server; the next run requests another).
DEMANDS=${SYNC_TEST_DEMANDS:-1500}
export SNESYNC_TEST_BATCH_DEMANDS=1000 # a commit mid-way through the ingest
. "$(dirname "$0")/lib.sh"

make_base_and_ref

# kill_once_logged PID PATTERN: kill -9 the run PID once the server's log has a line matching
# PATTERN (or once the run ended by itself, or after 15 s). Leaves pid set for the caller's wait.
kill_once_logged() {
    pid=$1
    for _ in $(seq 300); do
        grep -q "$2" "$T/server.log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
}

# killed NAME HOOK [server args]: a fresh copy of the base store; one run killed by the hook.
killed() {
    NAME=$1
    local hook=$2
    shift 2
    fresh_store "$NAME"
    start_server "$T/r2" "$@" || return 1
    SNESYNC_TEST_KILL_AT=$hook sync_all "$S"
    check "$NAME: the first run was killed (SIGKILL, 137)" 137 "$RC"
}

killed posted posted
check "$NAME: the POST was made before the kill" 1 "$(count_log 'POST /v1.0/exports -> 202')"
restarted
stop_server

killed polling polling:1 --faults export:slow@3
restarted
check_match "$NAME: the restarted run polled again" '^[1-9]' "$(jfield polls)"
stop_server

killed download downloading:300000
part=$(ls "$S.work/sync/"*.part)
ondisk=$(stat -c %s "$part")
check "$NAME: a partial archive is on disk (0600)" "1 600" \
    "$([ "$ondisk" -ge 300000 ] && [ "$ondisk" -lt "$SIZE" ] && echo 1) $(stat -c %a "$part")"
restarted
check "$NAME: resumed from the bytes on disk" "$ondisk" "$(jfield resumedFrom)"
check "$NAME: the rest came with a Range (206)" 1 "$(count_log 'fichier -> 206')"
check "$NAME: on disk + downloaded = the archive" "$SIZE" "$(($(jfield resumedFrom) + $(jfield downloadedBytes)))"
stop_server

killed ingest ingesting:1000
check_match "$NAME: the store holds an interrupted run" '"interruptedExport":"X' \
    "$("$SNESYNC" stats --store "$S" --json)"
restarted
check "$NAME: nothing downloaded again (the archive was on disk)" "0 $SIZE" \
    "$(jfield downloadedBytes) $(jfield resumedFrom)"
stop_server

killed sweep sweeping
restarted
stop_server

killed release releasing
restarted
check "$NAME: the restarted run did not ingest again" false "$(jfield ingested)"
stop_server

# From outside: kill -9 once the server has answered the first poll.
NAME=external
fresh_store "$NAME"
start_server "$T/r2" --faults export:slow@4 || finish
"$SNESYNC" sync --server "$URL" --store "$S" --entities "$ALL" --json >/dev/null 2>&1 &
kill_once_logged $! 'GET /v1.0/exports/[A-Z0-9]* -> 200'
wait "$pid" 2>/dev/null
check "$NAME: killed while polling" 137 "$?"
restarted
stop_server

# Between the server's accepting the POST and the run's writing the export's number down: the 202
# comes one byte every 100 ms (post:trickle), and the run is killed once the server has logged
# the export as accepted. That export is an orphan, unknown to the store, and (export:slow) still
# being generated. The next run requests another: refused with 429 while the orphan is in
# progress (one export at a time per guichet, contract README §1), it waits and retries, and it
# never touches the orphan, which is left to expire on the server.
NAME=orphan
fresh_store "$NAME"
start_server "$T/r2" --faults post:trickle@100,export:slow@3 || finish
"$SNESYNC" sync --server "$URL" --store "$S" --entities "$ALL" --json >/dev/null 2>&1 &
kill_once_logged $! 'export [A-Z0-9]*: accepted'
{ wait "$pid"; } 2>/dev/null
check "$NAME: killed while the 202 was on its way" 137 "$?"
orphan=$(sed -n 's/.*export \([A-Z0-9]*\): accepted$/\1/p' "$T/server.log")
check_match "$NAME: the server had accepted an export" '^X[A-Z0-9]+$' "$orphan"
check "$NAME: nothing reached the store" "$BASE_SEQ" "$(last_seq "$S")"
sync_all "$S"
check "$NAME: the restarted run exits 0" 0 "$RC"
check "$NAME: it did not know of the orphan (nothing to resume)" false "$(jfield resumed)"
check_match "$NAME: its POST was refused with 429 while the orphan was generated" '^[1-9]' \
    "$(count_log 'POST /v1.0/exports -> 429')"
check "$NAME: then accepted: two exports in all" 2 "$(count_log 'POST /v1.0/exports -> 202')"
check "$NAME: the export ingested is the second" 1 "$([ "$(jfield export)" != "$orphan" ] && echo 1)"
check "$NAME: the orphan was never polled, downloaded or released" 0 \
    "$(grep -c -e "GET /v1.0/exports/$orphan" -e "DELETE /v1.0/exports/$orphan" "$T/server.log")"
same_as_ref
stop_server

finish
