#!/usr/bin/env bash
# follow.sh SNESYNC SIM: `snesync follow` against `snesync-sim serve`.
#  - a store at r1 follows the movements of r1 -> r2: its changes equal the ground truth of the
#    demands that moved; the full export of r1 applied again changes nothing (the reads are newer,
#    the radiated demands' tombstones keep them deleted); the full export of r2 brings exactly
#    the rest (DRM, which has no movement);
#  - a second follow within the hour calls nothing; a store 7+ days behind exits 12;
#  - the window's edge: two follows whose windows meet exactly at a movement lose nothing;
#  - faults: 429 and 503 on movements and reads, a page cut, a read cut, a read that times out:
#    the same end state as without them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/follow_lib.sh"

make_follow_base
start_server "$T/r2" || finish

# --- ground truth ------------------------------------------------------------------------------
fresh_follow_store gt
follow_run "$S" --json --metrics-file "$T/follow.prom"
check "follow exits 0" 0 "$RC"
check_match "--json: the run's report, command follow" '^\{"command":"follow","ok":true,' "$OUT"
check "--json: one object on one line" 1 "$(printf '%s\n' "$OUT" | wc -l)"
check "--metrics-file: the run's success" 1 \
    "$(grep -c '^snesync_run_success{command="follow"} 1$' "$T/follow.prom")"
check "--json: no retry without a fault" 0 "$(jfield retries)"
check "--metrics-file: no retry either" 1 \
    "$(grep -c '^snesync_run_retries{command="follow"} 0$' "$T/follow.prom")"
check "changes of the follow = ground truth of the moved demands" \
    "$(md5sum <"$T/want.moved-changes")" "$(changes_tsv "$S" "$BASE_SEQ" | md5sum)"
check_match "some moved demands left the scope (radiated)" '"leftScope":[1-9]' "$OUT"
FOLLOWED=$(last_seq "$S")
REF_FOLLOW=$(state_since "$S" "$BASE_SEQ" | md5sum)
"$SNESYNC" ingest --store "$S" "$T/r1.tar.gz" >/dev/null 2>&1
check "r1's full export again: accepted" 0 "$?"
check "... and it changes nothing (reads newer, tombstones kept)" "$FOLLOWED" "$(last_seq "$S")"
"$SNESYNC" ingest --store "$S" "$T/r2.tar.gz" >/dev/null 2>&1
check "r2's full export: accepted" 0 "$?"
check "... brings exactly the rest of the ground truth (DRM)" \
    "$(md5sum <"$T/want.rest")" "$(changes_tsv "$S" "$FOLLOWED" | md5sum)"

# --- etiquette ---------------------------------------------------------------------------------
fresh_follow_store hourly
FOLLOW_INTERVAL=3600 follow_run "$S"
check "hourly: the first follow exits 0" 0 "$RC"
before=$(count_log "GET /v1.0/demandes")
FOLLOW_INTERVAL=3600 follow_run "$S"
check "hourly: a second follow within the hour exits 0" 0 "$RC"
check_match "... and says why" "one an hour at most" "$OUT"
check "... and calls nothing" "$before" "$(count_log "GET /v1.0/demandes")"
stop_server

sim evolve --from "$T/r2" --out "$T/r3" --days 8 --seed "$SEED" >>"$T/gen.log" 2>&1
start_server "$T/r3" || finish
fresh_follow_store behind
follow_run "$S" --json
check "a store 8 days behind: exit 12" 12 "$RC"
check_match "... its report says so" '^\{"command":"follow","ok":false,"exitStatus":12,"error":"' \
    "$OUT"
check_match "... told to run a full sync" "run a full sync" "$ERR"
check "... nothing changed" "$BASE_SEQ" "$(last_seq "$S")"
stop_server

# --- the window's edge -------------------------------------------------------------------------
# r2cut: r2 whose movements end at movement K (its instant is the server's, so the first
# window ends exactly there), and movement K+1 moved to the same instant in both registers.
old=$(wc -l <"$T/r1/mouvements.tsv")
K=$(((old + $(wc -l <"$T/r2/mouvements.tsv")) / 2))
cp -r "$T/r2" "$T/r2edge"
EDGE=$(sed -n "${K}p" "$T/r2/mouvements.tsv" | cut -f2)
awk -F'\t' -v OFS='\t' -v k=$((K + 1)) -v t="$EDGE" 'NR == k { $2 = t } { print }' \
    "$T/r2/mouvements.tsv" >"$T/r2edge/mouvements.tsv"
cp -r "$T/r2edge" "$T/r2cut"
head -n "$K" "$T/r2edge/mouvements.tsv" >"$T/r2cut/mouvements.tsv"
sed -i "s/^snapshot=.*/snapshot=$EDGE/" "$T/r2cut/register.txt"
for overlap in 0 600; do
    fresh_follow_store "edge$overlap"
    start_server "$T/r2cut" || finish
    follow_run "$S" --overlap "$overlap" --json
    check "edge (overlap $overlap): the first window ends at movement $K's instant" \
        "$EDGE" "$(jfield jusque | sed 's/\.000Z$/Z/')"
    stop_server
    start_server "$T/r2edge" || finish
    follow_run "$S" --overlap "$overlap"
    stop_server
    want=$T/want
    [ "$overlap" = 0 ] && want=$T/want0
    check "edge (overlap $overlap): after the second window, the ground truth of every moved demand" \
        "$(md5sum <"$want.moved-changes")" "$(changes_tsv "$S" "$BASE_SEQ" | md5sum)"
done

# --- faults ------------------------------------------------------------------------------------
start_server "$T/r2" --retry-after 1 --gdm-page-size 7 --faults \
    "gdm:429@1,gdm:503@1+1,gdm:cut@40+2,demande:429@1*2,demande:503@1+3,demande:cut@200+5,demande:delay@4000+8" ||
    finish
fresh_follow_store faults
follow_run "$S" --stall-timeout 2 --parallel 3 --json --metrics-file "$T/follow.prom"
check "faults: follow exits 0" 0 "$RC"
# each fault fails one request, retried once, by the listing's client or a reading thread's
check "faults: one retry reported per fault injected" \
    "$(grep -cE '(gdm|demande): fault .* injected' "$T/server.log")" "$(jfield retries)"
check "faults: the metrics file carries the same retries" 1 \
    "$(grep -c "^snesync_run_retries{command=\"follow\"} $(jfield retries)\$" "$T/follow.prom")"
check "faults: the end state equals the fault-free follow's" "$REF_FOLLOW" \
    "$(state_since "$S" "$BASE_SEQ" | md5sum)"
for f in "gdm: fault 429" "gdm: fault 503" "gdm: fault cut" "demande: fault 429" \
    "demande: fault 503" "demande: fault cut" "demande: fault delay"; do
    check "faults: '$f' was injected" 1 "$(grep -q "$f" "$T/server.log" && echo 1)"
done
finish
