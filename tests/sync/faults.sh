#!/usr/bin/env bash
# faults.sh SNESYNC SIM: every fault the simulator injects, on a resync (store loaded with r1,
# server on r2). Transient faults: the end state equals the fault-free resync's. Bad data: a
# clear non-zero exit, nothing deleted, and the next run ends in the fault-free state. A server
# that trickles, answers HTML, or sends a wrong Content-Length: retried, or a clear error within
# a bound (exit 7, nothing deleted), and the next run converges. Exports that keep failing
# (ECHEC): exit 7 with the server's erreur.code and message, cleaned and bounded.
DEMANDS=${SYNC_TEST_DEMANDS:-800}
. "$(dirname "$0")/lib.sh"

make_base_and_ref # the reference: the fault-free resync
check "the fault-free resync reports no retry" 0 "$(jfield retries)"
LC_ALL=C sort "$T/r2/changes.tsv" | sed '/^$/d' >"$T/want.tsv"

# scenario NAME FAULTS [sync args]: fresh copy of the base store, server with FAULTS, one sync.
scenario() {
    NAME=$1
    local faults=$2
    shift 2
    fresh_store "$NAME"
    start_server "$T/r2" --faults "$faults" || return 1
    local t0=$EPOCHREALTIME
    sync_all "$S" "$@"
    ELAPSED=$(ms_since "$t0")
}
# What a failed run applied is true data of the snapshot (demands it held, whole), never the
# sweep of the demands it did not hold: no demand lost its form, and every change it made is
# one of the ground truth's.
no_deletes() {
    check "$NAME: no demand swept (no CERFA deleted)" 0 \
        "$(changes_tsv "$S" "$BASE_SEQ" | grep -c $'^delete\t.*\tCERFA\t')"
    check "$NAME: every change applied is one of the ground truth's" 0 \
        "$(changes_tsv "$S" "$BASE_SEQ" | LC_ALL=C comm -23 - "$T/want.tsv" | wc -l)"
}

# --- transient faults: the run itself succeeds
scenario post503 'post:503*2'
check "$NAME: exit 0" 0 "$RC"
check "$NAME: POST answered 503 twice, then 202" "2 1" \
    "$(count_log 'POST /v1.0/exports -> 503') $(count_log 'POST /v1.0/exports -> 202')"
check "$NAME: waited Retry-After (1 s) twice" 1 "$([ "$ELAPSED" -ge 2000 ] && echo 1)"
check "$NAME: the report counts the two retries" 2 "$(jfield retries)"
same_as_ref
stop_server

scenario post429 'post:429@2'
check "$NAME: exit 0" 0 "$RC"
check "$NAME: waited the 429's Retry-After (2 s)" 1 "$([ "$ELAPSED" -ge 2000 ] && echo 1)"
same_as_ref
stop_server

scenario status429 'status:429@2*2,status:503+2'
check "$NAME: exit 0" 0 "$RC"
check "$NAME: status 429 twice and 503 once, retried" "2 1" \
    "$(count_log 'GET /v1.0/exports/[A-Z0-9]* -> 429') $(count_log 'GET /v1.0/exports/[A-Z0-9]* -> 503')"
check "$NAME: the report counts the retries of every poll" 3 "$(jfield retries)"
check "$NAME: never polled faster than asked (no 429 from --min-poll)" 0 \
    "$(grep -c 'polling faster' "$T/server.log")"
same_as_ref
stop_server

scenario cuts 'file:cut@65536*3'
check "$NAME: exit 0 after three cuts" 0 "$RC"
check "$NAME: three resumptions with a Range (206)" 3 "$(count_log 'fichier -> 206')"
check "$NAME: the report counts the three resumptions as retries" 3 "$(jfield retries)"
check "$NAME: no byte fetched twice" "$(jfield archiveBytes)" "$(jfield downloadedBytes)"
same_as_ref
stop_server

scenario notgzip 'file:notgzip,file:503+1'
check "$NAME: exit 0 (an HTML page, then a 503, instead of the archive: retried)" 0 "$RC"
check "$NAME: three requests for the file" 3 "$(count_log 'fichier -> ')"
check "$NAME: nothing of the page reached the archive" "$(jfield archiveBytes)" "$(jfield downloadedBytes)"
same_as_ref
stop_server

scenario echec 'export:echec'
check "$NAME: exit 0" 0 "$RC"
check "$NAME: a second export was requested" 2 "$(jfield exportsRequested)"
check_match "$NAME: the failure is reported" 'failed on the server \(ERREUR_SIMULEE' "$ERR"
same_as_ref
stop_server

# Every export fails, with a hostile erreur.message (1000 bytes: control characters, an ANSI
# escape, quotes, non-ASCII): exit 7 after 3 exports, the server's code and the start of its
# message in the error, cleaned (no control character) and bounded.
scenario echec_always 'export:echec@1000*always'
check "$NAME: exit 7" 7 "$RC"
check "$NAME: three exports requested" 3 "$(count_log 'POST /v1.0/exports -> 202')"
check_match "$NAME: the server's code and message are given" \
    'giving up \(the last: export [A-Z0-9]+ failed on the server \(ERREUR_SIMULEE: .{1,2}chec  \[31m.{1,2}contr.{1,2}le.{1,2}  "q"' \
    "$ERR"
check "$NAME: no control character reaches the message" 0 \
    "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$T/err")"
check "$NAME: the message is bounded (one line under 600 bytes)" 1 \
    "$(LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print (NR == 1 && m < 600) }' "$T/err")"
check "$NAME: store untouched" "$BASE_SEQ" "$(last_seq "$S")"
stop_server

scenario slow 'export:slow@2'
check "$NAME: exit 0" 0 "$RC"
check_match "$NAME: polled while EN_ATTENTE/EN_COURS" '^[2-9]$' "$(jfield polls)"
same_as_ref
stop_server

scenario delete503 'delete:503*always' --retries 1
check "$NAME: exit 0 (the data is in)" 0 "$RC"
check_match "$NAME: warning that the export is not released" 'warning: export .* not released' "$ERR"
check "$NAME: released false" false "$(jfield released)"
same_as_ref
stop_server

# --- final answers stop at once, with the server's detail
scenario post403 'post:403'
check "$NAME: exit 7" 7 "$RC"
check "$NAME: one POST only (final)" 1 "$(count_log 'POST /v1.0/exports')"
check_match "$NAME: message carries HTTP 403" 'HTTP 403 Forbidden' "$ERR"
check "$NAME: store untouched" "$BASE_SEQ" "$(last_seq "$S")"
stop_server

# --- bad data: exit 3, nothing deleted, then the next run asks for a new export
bad_data() {
    check "$NAME: exit 3" 3 "$RC"
    check_match "$NAME: says nothing was deleted" 'nothing was deleted' "$ERR"
    no_deletes
    check "$NAME: the bad archive is kept aside" 1 "$(ls "$S.work/sync/"*.bad 2>/dev/null | wc -l)"
    sync_all "$S"
    check "$NAME: the next run exits 0" 0 "$RC"
    check "$NAME: the next run requested a new export" 1 "$(jfield exportsRequested)"
    same_as_ref
    check "$NAME: the bad archive is cleared by the good run" 0 "$(ls "$S.work/sync/"*.bad 2>/dev/null | wc -l)"
}

scenario truncate 'export:truncate'
check_match "$NAME: message says truncated or damaged" 'truncat|damag|unexpected end|incomplete' "$ERR"
bad_data
stop_server

scenario badsha 'export:badsha'
check_match "$NAME: message names the sha256" 'sha256' "$ERR"
bad_data
stop_server

scenario notgzip-always 'file:notgzip*always' --retries 2
check "$NAME: exit 7 once retries are spent" 7 "$RC"
check_match "$NAME: message says it is not the archive" 'not the archive' "$ERR"
no_deletes
stop_server

# --- answers that are not what they say, and servers that trickle. The transfers are watched
# with --stall-timeout 2 (a transfer under --min-speed, 1024 bytes/s by default, for 2 s is
# stopped and counts as a failed attempt) so that each case takes seconds.
STALL=(--stall-timeout 2)
# rerun: the same command against the same server, whose faults are spent by now.
rerun() {
    sync_all "$S" "${STALL[@]}"
    check "$NAME: the next run exits 0" 0 "$RC"
    check "$NAME: it picked up the same export" "true 0" "$(jfield resumed) $(jfield exportsRequested)"
    same_as_ref
}

scenario longer 'file:longer@100' "${STALL[@]}"
check "$NAME: exit 0 (Content-Length 100 bytes past the archive, then the connection closed)" 0 "$RC"
check "$NAME: one request for the file: every announced byte had come" 1 "$(count_log 'fichier -> ')"
check "$NAME: nothing fetched twice" "$(jfield archiveBytes)" "$(jfield downloadedBytes)"
same_as_ref
stop_server

scenario shorter 'file:shorter' "${STALL[@]}"
check "$NAME: exit 0 (Content-Length half the archive, the answer ended there)" 0 "$RC"
check "$NAME: the rest came with a Range (206)" "1 1" "$(count_log 'fichier -> 200') $(count_log 'fichier -> 206')"
check "$NAME: nothing fetched twice" "$(jfield archiveBytes)" "$(jfield downloadedBytes)"
same_as_ref
stop_server

# Always 1000 bytes short: the first answer brings all but 1000 bytes, the next ones nothing.
scenario shorter-always 'file:shorter@1000*always' "${STALL[@]}" --retries 2
check "$NAME: exit 7 once retries are spent" 7 "$RC"
check_match "$NAME: message says where the answers end" 'answer ended at byte [0-9]+ of [0-9]+' "$ERR"
check "$NAME: within 30 s" 1 "$((ELAPSED < 30000 ? 1 : 0))"
no_deletes
check "$NAME: all but 1000 bytes are on disk, for the next run" "$((SIZE - 1000))" \
    "$(stat -c %s "$S.work/sync/"*.part)"
stop_server
start_server "$T/r2" || finish # the pending export is gone with that server: a new one
sync_all "$S" "${STALL[@]}"
check "$NAME: against a sound server, the next run exits 0" 0 "$RC"
check "$NAME: it requested a new export (the server no longer knew the pending one)" 1 \
    "$(jfield exportsRequested)"
same_as_ref
stop_server

scenario trickle-once 'file:trickle@500' "${STALL[@]}"
check "$NAME: exit 0 (a byte every 500 ms, stopped after 2 s, then resumed)" 0 "$RC"
check "$NAME: two requests for the file, the second from where the first stopped" "1 1" \
    "$(count_log 'fichier -> 200') $(count_log 'fichier -> 206')"
check "$NAME: nothing fetched twice" "$(jfield archiveBytes)" "$(jfield downloadedBytes)"
same_as_ref
stop_server

scenario trickle 'file:trickle@500*3' "${STALL[@]}" --retries 2
check "$NAME: exit 7 (a server that trickles forever)" 7 "$RC"
check_match "$NAME: message says it was too slow, and for how long" \
    'fichier: Operation too slow\. Less than 1024 bytes/sec transferred the last 2 seconds.*3 attempts' "$ERR"
check "$NAME: bounded: 3 attempts of 2 s and the waits between them, under 15 s" 1 \
    "$((ELAPSED >= 6000 && ELAPSED < 15000 ? 1 : 0))"
no_deletes
check "$NAME: the store is as it was" "$BASE_SEQ" "$(last_seq "$S")"
rerun
stop_server

scenario trickle-status 'status:trickle@500*3' "${STALL[@]}" --retries 2
check "$NAME: exit 7 (the status answer trickles)" 7 "$RC"
check_match "$NAME: message says it was too slow" 'GET /exports/[A-Z0-9]+: Operation too slow' "$ERR"
check "$NAME: bounded, under 15 s" 1 "$((ELAPSED < 15000 ? 1 : 0))"
check "$NAME: the store is as it was" "$BASE_SEQ" "$(last_seq "$S")"
rerun
stop_server

scenario html 'post:html,status:html*2,file:notgzip' "${STALL[@]}"
check "$NAME: exit 0 (a proxy's HTML page for the POST, twice for the status, once for the file)" 0 "$RC"
check "$NAME: every page was retried" "2 3 2" "$(count_log 'POST /v1.0/exports -> ') \
$(count_log 'GET /v1.0/exports/[A-Z0-9]* -> 200') $(count_log 'fichier -> 200')"
check "$NAME: one export requested" 1 "$(jfield exportsRequested)"
same_as_ref
stop_server

scenario html-always 'status:html*always' "${STALL[@]}" --retries 1
check "$NAME: exit 7" 7 "$RC"
check_match "$NAME: message says the answer is not JSON" "not JSON \\(Content-Type 'text/html" "$ERR"
check "$NAME: the store is as it was" "$BASE_SEQ" "$(last_seq "$S")"
stop_server

finish
