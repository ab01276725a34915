# common.sh: what the sim-serve and the sync test scripts share (sourced by their lib.sh): the
# TAP-like checks, the temporary directory and its clean-up, and the simulated server's life:
# started on a free port, ready when it prints its "listening on" line (no sleep waits for
# anything; loops are bounded and wait on state), stopped with SIGTERM.
#   common_init PREFIX    sets T (a new temporary directory) and the traps; SIM must be set
set -u

PASSED=0
FAILED=0
SRV_PID=
SRV_FD=
SRV_RC=
URL=

common_init() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap common_cleanup EXIT
    trap 'exit 1' INT TERM
}

common_cleanup() {
    [ -n "${KEEP_T:-}" ] && cp -r "$T" "$KEEP_T"
    stop_server
    rm -rf "$T"
}

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi; }
# check_match NAME REGEX ACTUAL
check_match() { if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1: '$3' does not match '$2'"; fi; }

# serve ARGS...: starts `$SIM serve ARGS` (stderr appended to $T/server.log) and waits (30 s at
# most) for its readiness line; sets URL and SRV_PID. Returns 1 if the server did not get ready.
serve() {
    local line=
    exec {SRV_FD}< <(exec "$SIM" serve "$@" 2>>"$T/server.log")
    SRV_PID=$!
    if ! read -r -t 30 -u "$SRV_FD" line; then
        not_ok "server ready (no readiness line): $(tail -n 5 "$T/server.log")"
        SRV_PID=
        return 1
    fi
    URL=${line#listening on }
    case "$line" in
    "listening on http://127.0.0.1:"* | "listening on https://127.0.0.1:"*) ;;
    *) not_ok "readiness line: $line"; return 1 ;;
    esac
    return 0
}

# stop_server: SIGTERM, then wait (bounded: 10 s, then SIGKILL) for the exit; sets SRV_RC (the
# server's exit status, or "killed").
stop_server() {
    SRV_RC=
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null
        local i
        for i in $(seq 100); do
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.1 # bounded wait for the server's own exit, not a synchronisation
        done
        if kill -0 "$SRV_PID" 2>/dev/null; then
            kill -KILL "$SRV_PID" 2>/dev/null
            SRV_RC=killed
        fi
        wait "$SRV_PID" 2>/dev/null
        local rc=$?
        [ -z "$SRV_RC" ] && SRV_RC=$rc
        SRV_PID=
    fi
    if [ -n "$SRV_FD" ]; then
        exec {SRV_FD}<&-
        SRV_FD=
    fi
}

# ms_since EPOCHREALTIME_VALUE: whole milliseconds elapsed since then.
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%d", (b-a)*1000}'; }

finish() {
    stop_server
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
