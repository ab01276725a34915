#!/usr/bin/env bash
# follow_stop.sh SNESYNC SIM: `snesync follow` stopped by SIGTERM (or SIGINT) ends within a few
# seconds with status 143 (130), its report saying so; the reads committed stay, the window is
# not recorded, and the same command run again ends with the change log (every byte) and the
# moved demands of an uninterrupted follow. The stop comes from the test hook
# SNESYNC_TEST_TERM_AT=reading:N (SIGTERM once N reads are committed), then FOLLOW_STOP_RUNS
# (default 6) signals from outside after a random delay (the seed printed; FOLLOW_STOP_SEED
# replays it), against a server slowed down, landing while listing, while reading, or after the
# run ended (status 0 then).
DEMANDS=${DEMANDS:-${SYNC_TEST_DEMANDS:-1500}}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/follow_lib.sh"

make_follow_base
start_server "$T/r2" || finish
follow_reference

# rerun NAME: the same follow again ends as the uninterrupted one.
rerun() {
    follow_run "$S"
    check "$1: the run again exits 0" 0 "$RC"
    check "$1: the change log equals the uninterrupted run's, byte for byte" \
        "$(md5sum <"$T/ref.log")" "$("$SNESYNC" changes --store "$S" --since 0 | md5sum)"
    check "$1: every moved demand equals the uninterrupted run's" \
        "$(md5sum <"$T/ref.dump")" "$(dump "$S" | md5sum)"
}

# --- the hook: SIGTERM once 20 reads are committed (transactions of 8) -------------------------
fresh_follow_store hook
t0=$(date +%s.%N)
SNESYNC_TEST_BATCH_DEMANDS=8 SNESYNC_TEST_TERM_AT=reading:20 follow_run "$S" --json
check "hook: the run stopped on SIGTERM (143)" 143 "$RC"
check "hook: within 5 s" 1 "$(echo "$(date +%s.%N) - $t0 < 5" | bc)"
check_match "hook: said so" "stopped by a signal after [0-9]+ of [0-9]+ reads" "$ERR"
check_match "hook: its report" '^\{"command":"follow","ok":false,"exitStatus":143,' "$OUT"
check_match "hook: the reads committed stay (24, the batch under way included)" \
    '"demandsRead":24,' "$OUT"
check "hook: the change log is a prefix of the uninterrupted run's" 0 \
    "$("$SNESYNC" changes --store "$S" --since 0 >"$T/now.log"
       cmp -s "$T/now.log" <(head -c "$(stat -c %s "$T/now.log")" "$T/ref.log"); echo $?)"
rerun hook

# --- from outside, after a random delay; SIGINT every third run --------------------------------
# Every page of movements answered after 100 ms and every read after 40 ms: the listing takes
# about half a second, the reads about one.
stop_server
start_server "$T/r2" --gdm-page-size 20 --faults "gdm:delay@100*always,demande:delay@40*always" ||
    finish
RUNS=${FOLLOW_STOP_RUNS:-6}
SEED=${FOLLOW_STOP_SEED:-$RANDOM}
echo "# $RUNS signals from outside, seed $SEED (FOLLOW_STOP_SEED replays it)"
RANDOM=$SEED
for i in $(seq "$RUNS"); do
    NAME="outside-$i"
    sig=TERM want=143
    [ $((i % 3)) -eq 0 ] && sig=INT want=130
    delay=$(printf '0.%03d' $((300 + RANDOM % 600))) # the handlers are in place
    fresh_follow_store "$NAME"
    { SNESYNC_TEST_FOLLOW_INTERVAL=0 SNESYNC_TEST_BATCH_DEMANDS=$((1 + RANDOM % 8)) \
        "$SNESYNC" follow --server "$URL" --store "$S" --entities "$ALL" --etat ACTIVE \
        >"$T/out" 2>"$T/err" &
      pid=$!
      sleep "$delay"
      t0=$(date +%s.%N)
      kill -"$sig" "$pid" 2>/dev/null
      wait "$pid"; } 2>/dev/null
    RC=$?
    ERR=$(cat "$T/err")
    if [ "$RC" = 0 ]; then
        ok "$NAME: ended before SIG$sig at $delay s"
    else
        check "$NAME: SIG$sig at $delay s: status $want" "$want" "$RC"
        check_match "$NAME: said so" "stopped by a signal" "$ERR"
        check "$NAME: within 5 s" 1 "$(echo "$(date +%s.%N) - $t0 < 5" | bc)"
    fi
    rerun "$NAME"
done
finish
