# follow_lib.sh: what the tests of `snesync follow` share (sourced after lib.sh). Two registers
# r1 and r2 = r1 evolved by FOLLOW_DAYS days (fewer than the 7 the movements go back); the base
# store holds r1's full export (national, ACTIVE, all entities); want_since() splits r2's ground
# truth into the changes of the demands a window lists and the rest (what the full export of r2
# brings after a follow: DRM, and the demands that did not move).
FOLLOW_DAYS=${FOLLOW_DAYS:-3}

make_follow_base() {
    sim generate --out "$T/r1" --demands "$DEMANDS" --seed "$SEED" >"$T/gen.log" 2>&1 &&
        sim evolve --from "$T/r1" --out "$T/r2" --days "$FOLLOW_DAYS" --seed "$SEED" \
            >>"$T/gen.log" 2>&1 &&
        sim export --data "$T/r1" --out "$T/r1.tar.gz" --entities ALL --etat ACTIVE \
            >>"$T/gen.log" 2>&1 &&
        sim export --data "$T/r2" --out "$T/r2.tar.gz" --entities ALL --etat ACTIVE \
            >>"$T/gen.log" 2>&1
    check "registers r1, r2 (r1 + $FOLLOW_DAYS days) and their exports" 0 "$?"
    "$SNESYNC" ingest --store "$T/base" "$T/r1.tar.gz" >/dev/null 2>&1
    check "base store: r1's full export" 0 "$?"
    BASE_SEQ=$(last_seq "$T/base")
    SNAP=$(sed -n 's/^snapshot=//p' "$T/r1/register.txt")
    want_since "$(date -u -d "$SNAP" +%Y-%m-%dT%H:%M:%SZ)" "$T/want0"
    want_since "$(date -u -d "$SNAP - 600 seconds" +%Y-%m-%dT%H:%M:%SZ)" "$T/want"
    echo "# $(wc -l <"$T/want.moved") demands moved (with 600 s of overlap), $(wc -l <"$T/want.moved-changes") changes of theirs"
}

# want_since INSTANT PREFIX: the demands that moved at or after INSTANT (r2's movements, UTC)
# into PREFIX.moved, the ground truth restricted to them into PREFIX.moved-changes, the rest of
# it into PREFIX.rest.
want_since() {
    awk -F'\t' -v t="$1" '$2 >= t { print $1 }' "$T/r2/mouvements.tsv" | LC_ALL=C sort -u >"$2.moved"
    LC_ALL=C awk -F'\t' 'NR == FNR { m[$1] = 1; next } m[$2]' "$2.moved" "$T/r2/changes.tsv" |
        LC_ALL=C sort >"$2.moved-changes"
    LC_ALL=C awk -F'\t' 'NR == FNR { m[$1] = 1; next } !m[$2]' "$2.moved" "$T/r2/changes.tsv" |
        LC_ALL=C sort >"$2.rest"
}

# follow_run STORE ARGS...: `snesync follow` (national, ACTIVE, all entities; the hourly rule
# off unless FOLLOW_INTERVAL is set); sets RC, OUT, ERR.
follow_run() {
    local store=$1
    shift
    { SNESYNC_TEST_FOLLOW_INTERVAL=${FOLLOW_INTERVAL:-0} "$SNESYNC" follow --server "$URL" \
        --store "$store" --entities "$ALL" --etat ACTIVE "$@" >"$T/out" 2>"$T/err"; } 2>/dev/null
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

# fresh_follow_store NAME: S=$T/f-NAME, a new copy of the base store.
fresh_follow_store() {
    S=$T/f-$1
    rm -rf "$S"
    cp -r "$T/base" "$S"
}

# dump STORE: every moved demand as `show` prints it (absent ones say so).
dump() {
    local num
    while read -r num; do
        "$SNESYNC" show --store "$1" "$num" 2>&1
    done <"$T/want.moved"
}

# follow_reference: an uninterrupted follow of a fresh copy of the base store, whose change log
# ($T/ref.log) and moved demands ($T/ref.dump) interrupted runs must end with.
follow_reference() {
    fresh_follow_store ref
    follow_run "$S"
    check "uninterrupted follow exits 0" 0 "$RC"
    "$SNESYNC" changes --store "$S" --since 0 >"$T/ref.log"
    dump "$S" >"$T/ref.dump"
}
