#!/usr/bin/env bash
# follow_kill.sh SNESYNC SIM: kill -9 at random points of `snesync follow`, then run it again:
# the change log (seq numbers, bodies, every byte) and the stored demands end equal to an
# uninterrupted follow's. A kill point is the test hook after N reads committed (transactions of
# 1 to 8 reads), or a SIGKILL from outside after a random delay (listing, reading, between two
# commits, while the window is recorded); up to 3 kills in a row before a run may finish.
# FOLLOW_KILL_POINTS kills (default 25); the seed is printed (FOLLOW_KILL_SEED replays it).
DEMANDS=${DEMANDS:-${SYNC_TEST_DEMANDS:-1500}}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/follow_lib.sh"

POINTS=${FOLLOW_KILL_POINTS:-25}
KSEED=${FOLLOW_KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# kill seed $KSEED (FOLLOW_KILL_SEED=$KSEED replays it), $POINTS kills"
RANDOM=$KSEED

make_follow_base
start_server "$T/r2" --retry-after 1 || finish
follow_reference
MOVED=$(wc -l <"$T/want.moved")

kills=0
chain=0
while [ "$kills" -lt "$POINTS" ]; do
    chain=$((chain + 1))
    fresh_follow_store "k$chain"
    for round in 1 2 3; do
        [ "$kills" -ge "$POINTS" ] && break
        batch=$((1 + RANDOM % 8))
        if [ $((RANDOM % 2)) = 0 ]; then
            n=$((1 + RANDOM % MOVED))
            SNESYNC_TEST_BATCH_DEMANDS=$batch SNESYNC_TEST_KILL_AT=reading:$n follow_run "$S"
            how="after $n reads (batches of $batch)"
        else
            delay=$((RANDOM % 400))
            { SNESYNC_TEST_FOLLOW_INTERVAL=0 SNESYNC_TEST_BATCH_DEMANDS=$batch "$SNESYNC" follow \
                --server "$URL" --store "$S" --entities "$ALL" >/dev/null 2>&1 &
              pid=$!
              sleep "$(printf '0.%03d' "$delay")"
              kill -9 "$pid" 2>/dev/null
              wait "$pid"; } 2>/dev/null
            RC=$?
            how="from outside after ${delay} ms (batches of $batch)"
        fi
        [ "$RC" = 137 ] || [ "$RC" = 0 ] || not_ok "chain $chain: a run $how ended $RC: $ERR"
        [ "$RC" = 137 ] && kills=$((kills + 1))
        "$SNESYNC" changes --store "$S" --since 0 >"$T/now.log" 2>"$T/now.err"
        check "chain $chain, kill $how: the store opens, its log is a prefix of the reference" 0 \
            "$(cmp -s "$T/now.log" <(head -c "$(stat -c %s "$T/now.log")" "$T/ref.log"); echo $?)"
    done
    follow_run "$S"
    check "chain $chain: the run after the kills exits 0" 0 "$RC"
    check "chain $chain: the change log equals the uninterrupted run's, byte for byte" \
        "$(md5sum <"$T/ref.log")" "$("$SNESYNC" changes --store "$S" --since 0 | md5sum)"
    check "chain $chain: every moved demand equals the uninterrupted run's" \
        "$(md5sum <"$T/ref.dump")" "$(dump "$S" | md5sum)"
    rm -rf "$S"
done
echo "# $kills kills in $chain chains"
finish
