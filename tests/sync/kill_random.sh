#!/usr/bin/env bash
# kill_random.sh SNESYNC SIM [DUMP]: `snesync sync` killed with SIGKILL at random points, at
# least 26 times a run (SYNC_KILL_POINTS), then run again until it ends: the store and the change
# log equal those of an uninterrupted sync, seq numbers included, with no change lost or
# duplicated.
#
# Two scenarios, each a series of chains. A chain starts from the scenario's initial store and
# runs the same sync command again and again, each run killed at a random point, 1 to 5 times,
# then lets a run finish (a run that ends before its kill point also ends the chain):
#   fresh    an empty store; the server on register r1
#   evolve   a store holding r1 (loaded by a sync); the server on r2 = r1 evolved by 30 days
#            (updates, creations, and the deletions of the final sweep)
# A kill point is either the in-process hook SNESYNC_TEST_KILL_AT (posted, polling:1,
# downloading:BYTES, ingesting:DEMANDS with a random transaction size, sweeping, releasing: exact
# points) or a kill -9 from outside after a random delay (a few ms, during the POST; into the
# wait for the export; or into the transfer, scaled on the uninterrupted run's timings).
#
# After every kill: the store opens (`stats`) and `changes --since 0` is a prefix of the
# uninterrupted run's (nothing uncommitted visible). After every chain: `changes --since 0` is
# byte for byte the uninterrupted run's (seq included; only the export number, given by the
# server, differs), `stats` gives the same counts and no interrupted export, every demand's
# stored state (DUMP: hardening_vg_driver --dump, when built) and `show` of a sample are the
# same, and the work directory holds the one archive, nothing partial.
# Server side, per chain: every export the server accepted is either used and released by exactly
# one DELETE 204 (the one ingested last; or one a run ingested and released just before a kill
# from outside ended it, so that the next run synced afresh) or an orphan: accepted while its run
# was being killed from outside, before the run could write down its number, and never polled,
# downloaded or released by any later run (it expires on the server). Orphans are at most the chain's kills from outside; the
# hook's kills never make one (`posted` fires after the number is saved). POSTs refused with 429
# (one export in progress per guichet, contract README §1) only happen while an orphan is still
# being generated, and the run waited and retried them.
#
# SYNC_KILL_SEED replays the kill points (the delays from outside land where the machine's speed
# puts them); SYNC_TEST_SEED / SYNC_TEST_DEMANDS the data. The long version:
#   ctest --test-dir build -C long -R sync_kill_random_full     (100 kills, 6000 demands)
DEMANDS=${SYNC_TEST_DEMANDS:-1500}
. "$(dirname "$0")/lib.sh"
DUMP=${3:-}
KILLS=${SYNC_KILL_POINTS:-26}
KSEED=${SYNC_KILL_SEED:-$((($$ * 7919 + ${EPOCHSECONDS:-0}) % 1000000))}
echo "# kill seed $KSEED, $KILLS kills (SYNC_KILL_SEED / SYNC_KILL_POINTS replay it)"
[ -n "$DUMP" ] || echo "# no dump tool given: stored demands are compared through \`show\` of a sample only"
RANDOM=$KSEED

# rnd N: a random integer in [0, N).
rnd() { echo $(((RANDOM << 15 | RANDOM) % $1)); }

# norm: a change log (or stats) with the export number, which the server gives, blanked.
norm() { sed 's/"export":"[^"]*"/"export":"-"/g'; }
changes_of() { "$SNESYNC" changes --store "$1" --since 0 | norm; }
# the counts of `stats`: no size, no export numbers, no identity (drawn for each new store)
stats_of() { "$SNESYNC" stats --store "$1" --json | norm | sed 's/"storeId":"[0-9a-f]*",//; s/"fileBytes":[0-9]*,//'; }
dump_of() { [ -n "$DUMP" ] && ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$DUMP" --dump "$1" <"$T/nums"; }
show_of() {
    local n
    for n in $(cat "$T/sample"); do "$SNESYNC" show --store "$1" "$n" 2>&1; echo "exit $?"; done
}

# one_run STORE MODE ARG: runs the sync once; MODE hook (ARG: SNESYNC_TEST_KILL_AT) or ext (ARG:
# delay in ms before the kill -9) or none. Sets RC and WHERE.
one_run() {
    local store=$1 mode=$2 arg=$3 batch
    batch=$((100 + $(rnd 1400)))
    case $mode in
    hook)
        SNESYNC_TEST_BATCH_DEMANDS=$batch SNESYNC_TEST_KILL_AT=$arg sync_all "$store"
        WHERE="hook $arg (transactions of $batch demands)"
        ;;
    ext)
        SNESYNC_TEST_BATCH_DEMANDS=$batch "$SNESYNC" sync --server "$URL" --store "$store" \
            --entities "$ALL" --etat ACTIVE --json >"$T/out" 2>"$T/err" &
        local pid=$!
        sleep "$(awk -v m="$arg" 'BEGIN{printf "%.3f", m/1000}')" # the kill point itself
        kill -KILL "$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null # (bash would report the kill)
        RC=$?
        OUT=$(cat "$T/out")
        ERR=$(cat "$T/err")
        WHERE="kill -9 after $arg ms (transactions of $batch demands)"
        ;;
    *)
        sync_all "$store"
        WHERE="no kill"
        ;;
    esac
}

# pick_point: MODE and ARG of a random kill point (weights: half from the hook, half from outside).
pick_point() {
    local r=$(rnd 100)
    if [ "$r" -lt 50 ]; then
        MODE=hook
        r=$(rnd 8)
        case $r in
        0) ARG=posted ;;
        1) ARG=polling:1 ;;
        2 | 3) ARG=downloading:$((1 + $(rnd $((ASIZE - 1))))) ;;
        4 | 5) ARG=ingesting:$((1 + $(rnd "$ADEMANDS"))) ;;
        6) ARG=sweeping ;;
        7) ARG=releasing ;;
        esac
    else
        MODE=ext
        r=$(rnd 100)
        if [ "$r" -lt 15 ]; then # start-up and the POST
            ARG=$(rnd 40)
        elif [ "$r" -lt 35 ]; then # the wait for the export
            ARG=$(rnd "$WAIT_MS")
        else # the transfer (download, ingest, sweep, release) and a little past it
            ARG=$((WAIT_MS + $(rnd $((XFER_MS * 115 / 100 + 1)))))
        fi
    fi
}

# log_lines: the server log's length, to cut it into windows.
log_lines() { wc -l <"$T/server.log"; }

# scenario NAME DATA BASE KILLS: chains against a server on DATA, from the store BASE ("" for an
# empty store), until KILLS kills have landed.
scenario() {
    local name=$1 data=$2 base=$3 target=$4
    start_server "$data" || return 1
    # the uninterrupted run
    rm -rf "$T/ref-$name" "$T/ref-$name.work"
    [ -n "$base" ] && cp -r "$base" "$T/ref-$name"
    local t0=$EPOCHREALTIME
    sync_all "$T/ref-$name"
    local ref_ms
    ref_ms=$(ms_since "$t0")
    check "$name: the uninterrupted sync exits 0" 0 "$RC"
    WAIT_MS=$(awk -v s="$(jfield secondsWaiting)" 'BEGIN{printf "%d", s*1000}')
    XFER_MS=$((ref_ms - WAIT_MS))
    ASIZE=$(jfield archiveBytes)
    ADEMANDS=$(jfield demands)
    echo "# $name: uninterrupted sync ${ref_ms} ms (${WAIT_MS} ms requesting and polling), $ASIZE bytes, $ADEMANDS demands"
    changes_of "$T/ref-$name" >"$T/want.log"
    stats_of "$T/ref-$name" >"$T/want.stats"
    sed -n 's/.*"numUnique":"\([^"]*\)".*/\1/p' "$T/want.log" | LC_ALL=C sort -u >"$T/nums"
    awk -v n="$(wc -l <"$T/nums")" 'NR % int(n / 12 + 1) == 1' "$T/nums" >"$T/sample"
    dump_of "$T/ref-$name" >"$T/want.dump"
    show_of "$T/ref-$name" >"$T/want.show"
    check "$name: the reference has changes to compare" 1 "$([ -s "$T/want.log" ] && echo 1)"
    [ -n "$DUMP" ] && check "$name: the dump of the reference speaks of each of its $(wc -l <"$T/nums") demands" \
        "$(wc -l <"$T/nums")" "$(grep -cE '^[0-9A-Z]+ ((ACTIVE|RADIEE) |-$)' "$T/want.dump")"

    local kills=0 chain=0 bad=0 posts_429=0 orphans_all=0
    while [ "$kills" -lt "$target" ] && [ "$bad" -eq 0 ]; do
        chain=$((chain + 1))
        local S=$T/c-$name-$chain links=$((1 + $(rnd 5))) link=0 ext_kills=0 finished=0
        rm -rf "$S" "$S.work"
        [ -n "$base" ] && cp -r "$base" "$S"
        [ "$links" -gt $((target - kills)) ] && links=$((target - kills))
        local from
        from=$(($(log_lines) + 1))
        while [ "$link" -lt "$links" ]; do
            link=$((link + 1))
            pick_point
            one_run "$S" "$MODE" "$ARG"
            local what
            if [ "$RC" = 137 ]; then
                kills=$((kills + 1))
                [ "$MODE" = ext ] && ext_kills=$((ext_kills + 1))
                what=killed
            elif [ "$RC" = 0 ]; then
                what="had finished"
                finished=1
                [ "$MODE" = hook ] && HOOKS_MISSED=$((HOOKS_MISSED + 1))
            else
                not_ok "$name chain $chain run $link ($WHERE): exit $RC: $ERR"
                bad=1
                break
            fi
            local got=0
            if [ -d "$S" ]; then
                if ! "$SNESYNC" stats --store "$S" >/dev/null 2>"$T/stats.err"; then
                    not_ok "$name chain $chain run $link: the store does not open after the kill ($WHERE): $(cat "$T/stats.err")"
                    bad=1
                    break
                fi
                changes_of "$S" >"$T/got.log"
                got=$(wc -l <"$T/got.log")
                if ! cmp -s "$T/got.log" <(head -n "$got" "$T/want.log"); then
                    not_ok "$name chain $chain run $link ($WHERE): the change log is not a prefix of the uninterrupted run's: $(diff <(head -n "$got" "$T/want.log") "$T/got.log" | head -n 3 | cut -c 1-200)"
                    bad=1
                    break
                fi
            fi
            local part
            part=$(stat -c %s "$S.work/sync/"*.part 2>/dev/null | head -n 1)
            echo "#   $name chain $chain run $link: $what at $WHERE; $got changes committed${part:+, $part bytes on disk}"
            [ "$finished" = 1 ] && break
        done
        [ "$bad" = 0 ] || break
        if [ "$finished" = 0 ]; then
            one_run "$S" none ""
            if [ "$RC" != 0 ]; then
                not_ok "$name chain $chain: the run after the kills: exit $RC: $ERR"
                bad=1
                break
            fi
        fi
        local final_export
        final_export=$(jfield export)
        # the chain's end state against the uninterrupted run's
        local differs="" what_of
        for what_of in changes_of:want.log stats_of:want.stats dump_of:want.dump show_of:want.show; do
            "${what_of%%:*}" "$S" >"$T/got.${what_of#*:}"
            cmp -s "$T/got.${what_of#*:}" "$T/${what_of#*:}" ||
                differs+=" [${what_of%%_of*}: $(diff "$T/${what_of#*:}" "$T/got.${what_of#*:}" | head -n 3 | cut -c 1-200 | tr '\n' ' ')]"
        done
        if [ -z "$differs" ]; then
            ok "$name chain $chain ($link runs): change log (seq included), counts, stored demands and shown demands equal the uninterrupted run's"
        else
            not_ok "$name chain $chain: the end state differs from the uninterrupted run's:$differs"
            bad=1
        fi
        check "$name chain $chain: the work directory holds the one archive, nothing partial" \
            "EXPORT_$final_export.tar.gz" "$(ls "$S.work/sync" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
        # the server's side of the chain
        tail -n "+$from" "$T/server.log" >"$T/chain.log"
        local accepted ids_used orphans=0 id
        accepted=$(sed -n 's/.*export \([A-Z0-9]*\): accepted$/\1/p' "$T/chain.log")
        for id in $accepted; do
            [ "$id" = "$final_export" ] && continue
            if ! grep -q -e "GET /v1.0/exports/$id" -e "DELETE /v1.0/exports/$id" "$T/chain.log"; then
                orphans=$((orphans + 1))
            elif [ "$(grep -c "DELETE /v1.0/exports/$id -> 204" "$T/chain.log")" != 1 ]; then
                # Used, so noted: it must have been released once. (A run killed in its last
                # milliseconds may have finished a whole sync, release included; the next run
                # then syncs afresh, and the chain ends on a later export.)
                not_ok "$name chain $chain: export $id was used by a run but not released once (the chain ended on $final_export)"
                sed 's/^/#     server: /' "$T/chain.log" # request lines and statuses: no data
                bad=1
            fi
        done
        check "$name chain $chain: the export ingested was accepted in this chain" 1 \
            "$(grep -cx "$final_export" <<<"$accepted")"
        check "$name chain $chain: it was released once (DELETE 204)" 1 \
            "$(grep -c "DELETE /v1.0/exports/$final_export -> 204" "$T/chain.log")"
        check "$name chain $chain: orphan exports ($orphans) are at most the kills from outside ($ext_kills)" 1 \
            "$([ "$orphans" -le "$ext_kills" ] && echo 1)"
        check "$name chain $chain: no POST refused otherwise than 429, no server error" 0 \
            "$(grep -E 'POST /v1.0/exports -> [0-9]+' "$T/chain.log" | grep -vcE -- '-> (202|429)$')"
        posts_429=$((posts_429 + $(grep -c 'POST /v1.0/exports -> 429' "$T/chain.log")))
        orphans_all=$((orphans_all + orphans))
        [ "$orphans" -gt 0 ] && echo "#   $name chain $chain: $orphans orphan export(s), left to expire on the server"
        rm -rf "$S" "$S.work"
    done
    echo "# $name: $kills kills in $chain chains; $orphans_all orphan export(s); $posts_429 POST(s) answered 429"
    echo "# $name: $HOOKS_MISSED hook point(s) not reached (the run resumed past that phase, or the phase does not report that far)"
    HOOKS_MISSED=0
    check "$name: POSTs answered 429 only while an orphan was being generated" 1 \
        "$([ "$posts_429" -eq 0 ] || [ "$orphans_all" -gt 0 ] && echo 1)"
    KILLS_DONE=$((KILLS_DONE + kills))
    stop_server
}

make_registers
KILLS_DONE=0
HOOKS_MISSED=0
scenario fresh "$T/r1" "" $((KILLS - KILLS / 2))
scenario evolve "$T/r2" "$T/ref-fresh" $((KILLS / 2))
check "at least $KILLS kills landed" 1 "$([ "$KILLS_DONE" -ge "$KILLS" ] && echo 1)"
finish
