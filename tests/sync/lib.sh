# lib.sh: shared helpers of the sync tests (sourced). They run the real `snesync sync` against
# the real `snesync-sim serve` on loopback (--port 0). Readiness is the server's "listening on"
# line; no sleep is used to wait for anything (loops are bounded and wait on state).
#   SCRIPT.sh PATH/TO/snesync PATH/TO/snesync-sim
set -u

SNESYNC=${1:?usage: $0 PATH/TO/snesync PATH/TO/snesync-sim}
SIM=${2:?usage: $0 PATH/TO/snesync PATH/TO/snesync-sim}
SNESYNC=$(cd "$(dirname "$SNESYNC")" && pwd)/$(basename "$SNESYNC")
SIM=$(cd "$(dirname "$SIM")" && pwd)/$(basename "$SIM")
. "$(dirname "${BASH_SOURCE[0]}")/../sim-serve/common.sh"
common_init sync-test
ALL=CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM
DEMANDS=${DEMANDS:-${SYNC_TEST_DEMANDS:-3000}}
SEED=${SYNC_TEST_SEED:-21}
echo "# seed $SEED, $DEMANDS demands (SYNC_TEST_SEED / SYNC_TEST_DEMANDS replay it)"

# Two registers: r1, and r2 = r1 evolved by 30 days (r2/changes.tsv is the ground truth of a
# national ACTIVE export with all nine entities).
# sim ARGS...: the simulator's offline commands. It is the tests' instrument, not their subject:
# under a sanitizer build its leak reports are not this suite's business.
sim() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$SIM" "$@"; }

make_registers() {
    sim generate --out "$T/r1" --demands "$DEMANDS" --seed "$SEED" >"$T/gen.log" 2>&1 &&
        sim evolve --from "$T/r1" --out "$T/r2" --days 30 --seed "$SEED" >>"$T/gen.log" 2>&1
    check "registers generated" 0 "$?"
}

# start_server DATA_DIR ARGS...: `snesync-sim serve` on a free port, short Retry-After; sets URL.
start_server() {
    local data=$1
    shift
    : >"$T/server.log"
    serve --data "$data" --port 0 --retry-after 1 --min-poll 1 --work-dir "$T/srvwork" "$@"
}

# sync STORE ARGS...: runs `snesync sync` (national, ACTIVE, all entities unless ARGS say
# otherwise); sets RC, OUT (stdout), ERR (stderr).
sync_run() {
    local store=$1
    shift
    # (a group with its stderr muted: bash does not report a run that a test killed)
    { "$SNESYNC" sync --server "$URL" --store "$store" "$@" >"$T/out" 2>"$T/err"; } 2>/dev/null
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
sync_all() {
    local store=$1
    shift
    sync_run "$store" --entities "$ALL" --etat ACTIVE --json "$@"
}

# jfield NAME: a value of the JSON summary in OUT.
jfield() {
    printf '%s' "$OUT" | grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed "s/^\"$1\":\"\{0,1\}//"
}

last_seq() { "$SNESYNC" stats --store "$1" --json | sed -n 's/.*"lastSeq":\([0-9]*\).*/\1/p'; }

# changes_tsv STORE SINCE: the change set after SINCE as sorted "op numUnique entity key" lines.
changes_tsv() {
    "$SNESYNC" changes --store "$1" --since "$2" |
        sed -n 's/.*"op":"\([a-z]*\)","numUnique":"\([0-9A-Z]*\)","entity":"\([A-Z]*\)","key":"\([^"]*\)".*/\1\t\2\t\3\t\4/p' |
        LC_ALL=C sort
}

# state STORE: the whole change log, bodies included, without what differs from run to run
# (seq, the export's number): two stores that went through the same data give the same text,
# and a change emitted twice shows.
state() {
    "$SNESYNC" changes --store "$1" --since 0 |
        sed -e 's/^{"seq":[0-9]*,/{/' -e 's/"export":"[^"]*",//' | LC_ALL=C sort
}

# state_since STORE SEQ: the same for the changes after SEQ.
state_since() {
    "$SNESYNC" changes --store "$1" --since "$2" |
        sed -e 's/^{"seq":[0-9]*,/{/' -e 's/"export":"[^"]*",//' | LC_ALL=C sort
}

# count_log PATTERN: lines of the server log matching PATTERN.
count_log() { grep -c -- "$1" "$T/server.log"; }

# make_base_and_ref: the registers; the base store (r1 loaded by a sync) and the reference (the
# base resynced, uninterrupted and fault-free, against r2). Sets BASE_SEQ, REF (the digest of
# the reference's changes after BASE_SEQ, seq and export number aside) and SIZE (r2's archive).
make_base_and_ref() {
    make_registers
    start_server "$T/r1" || finish
    sync_all "$T/base"
    check "base store (r1) loaded" 0 "$RC"
    stop_server
    BASE_SEQ=$(last_seq "$T/base")
    start_server "$T/r2" || finish
    cp -r "$T/base" "$T/ref"
    sync_all "$T/ref"
    check "uninterrupted resync exits 0" 0 "$RC"
    REF=$(state_since "$T/ref" "$BASE_SEQ" | md5sum)
    SIZE=$(jfield archiveBytes)
    stop_server
}

# fresh_store NAME: S=$T/s-NAME, a new copy of the base store (no work directory).
fresh_store() {
    S=$T/s-$1
    rm -rf "$S" "$S.work"
    cp -r "$T/base" "$S"
}

same_as_ref() {
    check "$NAME: end state equals the uninterrupted resync (no change lost or twice)" "$REF" \
        "$(state_since "$S" "$BASE_SEQ" | md5sum)"
}

# restarted: after a run of test NAME on store S was killed or stopped, the same command again:
# it picks up the pending export and ends in the reference's state, the export released once.
restarted() {
    sync_all "$S"
    check "$NAME: the restarted run exits 0" 0 "$RC"
    check "$NAME: one export requested in all" 1 "$(count_log 'POST /v1.0/exports -> 202')"
    check "$NAME: the restarted run picked up the pending export" true "$(jfield resumed)"
    same_as_ref
    check "$NAME: the export was released" 1 "$(count_log 'DELETE /v1.0/exports/.* -> 204')"
}
