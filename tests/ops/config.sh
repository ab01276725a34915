# config.sh: the config file every command reads (--config, else $SNESYNC_CONFIG, else
# /etc/snesync/snesync.conf): the same store found by ingest, stats, changes and prune; the
# precedence (command line > config file > $SNESYNC_STORE); quoted values; the errors.
#   config.sh PATH/TO/snesync SAMPLE.tar.gz
set -u
SNESYNC=${1:?usage: $0 PATH/TO/snesync SAMPLE.tar.gz}
SAMPLE=${2:?usage: $0 PATH/TO/snesync SAMPLE.tar.gz}
SNESYNC=$(cd "$(dirname "$SNESYNC")" && pwd)/$(basename "$SNESYNC")
SAMPLE=$(cd "$(dirname "$SAMPLE")" && pwd)/$(basename "$SAMPLE")
. "$(dirname "${BASH_SOURCE[0]}")/../sim-serve/common.sh"
common_init ops-config
unset SNESYNC_STORE

# run ARGS...: snesync in $T/cwd; sets RC, OUT, ERR.
run() {
    OUT=$(cd "$T/cwd" && "$SNESYNC" "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
}
mkdir -p "$T/cwd" "$T/etc"

# A relative, quoted store with a space, an escaped quote and backslash: taken from the file's
# directory. Keys meant for other commands (server, pg-dsn) are no error for stats or ingest.
cat >"$T/etc/snesync.conf" <<'CONF'
# one file serves every command
store  = "my \"store\" \\ dir"   # a comment after the quotes
server = 'https://sne.example/a "b" \c'
pg-dsn = host=db dbname=si
CONF
STORE="$T/etc/my \"store\" \\ dir"
run ingest --config "$T/etc/snesync.conf" --json "$SAMPLE"
check "ingest --config: done" 0 "$RC"
check "the quoted store, relative to the file" yes "$([ -d "$STORE" ] && echo yes)"
export SNESYNC_CONFIG="$T/etc/snesync.conf"
run stats --json
check "stats with \$SNESYNC_CONFIG finds the store" 0 "$RC"
check_match "stats: the store's changes" '"lastSeq":[1-9]' "$OUT"
run changes --since 0 --limit 1
check "changes with \$SNESYNC_CONFIG" 0 "$RC"
check_match "changes: a change" '^\{"seq":1,' "$OUT"
run prune --upto 1
check "prune with \$SNESYNC_CONFIG" 0 "$RC"
check_match "prune: one change" 'pruned 1 changes' "$OUT"

# Precedence: --store > the file's store > $SNESYNC_STORE; --config > $SNESYNC_CONFIG.
SNESYNC_STORE="$T/env.store" run stats
check "the file's store wins over \$SNESYNC_STORE" 0 "$RC"
run stats --store "$T/none.store"
check "--store wins over the file's store" 2 "$RC"
check_match "--store: no store there" "no store at $T/none.store" "$ERR"
printf 'store = other.store\n' >"$T/etc/other.conf"
run stats --config "$T/etc/other.conf"
check "--config wins over \$SNESYNC_CONFIG" 2 "$RC"
check_match "--config: its store" "no store at $T/etc/other.store" "$ERR"
SNESYNC_CONFIG= SNESYNC_STORE="$T/env.store" run stats
check "an empty \$SNESYNC_CONFIG reads no file: \$SNESYNC_STORE" 2 "$RC"
check_match "\$SNESYNC_STORE used" "no store at $T/env.store" "$ERR"
SNESYNC_CONFIG=/dev/null run stats
check "SNESYNC_CONFIG=/dev/null: the default store" 2 "$RC"
check_match "./snesync.store used" "no store at snesync.store" "$ERR"

# Errors: exit 2, the file and line named, nothing else read.
bad() { # bad NAME LINE MESSAGE-REGEX
    printf '%s\n' "$2" >"$T/etc/bad.conf"
    run stats --config "$T/etc/bad.conf"
    check "$1: exit 2" 2 "$RC"
    check_match "$1: said" "bad.conf, line 1: $3" "$ERR"
}
bad "a quote not closed" 'store = "abc' "the quoted value is not closed"
bad "an unknown escape" 'store = "a\nb"' 'a quoted value knows the escapes'
bad "text after the quotes" "store = 'a' b" "text after the quoted value"
bad "an unknown key" 'stroe = x' "unknown key 'stroe'"
run stats --config "$T/etc/missing.conf"
check "a missing --config: exit 2" 2 "$RC"
check_match "a missing --config: said" "cannot open the config file .*missing.conf" "$ERR"

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
