# lib.sh: shared helpers of the sim-serve tests (sourced). Drives the real `snesync-sim serve`
# with plain curl on loopback. Readiness is the "listening on" line read from the server's stdout
# (no sleeps); status polls are bounded loops.
set -u

EXE=${1:?usage: $0 PATH/TO/snesync-sim}
EXE=$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE")
T=$(mktemp -d "${TMPDIR:-/tmp}/sim-serve-test.XXXXXX")
PASSED=0
FAILED=0
SRV_PID=
SRV_FD=
URL=

cleanup() {
    [ -n "${KEEP_T:-}" ] && cp -r "$T" "$KEEP_T"
    stop_server
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}
# check_match NAME REGEX ACTUAL
check_match() {
    if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1: '$3' does not match '$2'"; fi
}

# Makes the register directory the server reads. With the real generator (snesync-sim generate),
# a small register; the mouvements.tsv of a test can replace the generated one.
make_data() {
    local dir=$1
    mkdir -p "$dir"
    if "$EXE" generate --help >/dev/null 2>&1; then
        "$EXE" generate --out "$dir" --demands 200 --seed 7 >"$T/generate.log" 2>&1 ||
            { echo "generate failed:"; cat "$T/generate.log"; }
    fi
}

# start_server ARGS...: starts `snesync-sim serve ARGS` (stderr to $T/server.log) and waits for
# its readiness line; sets URL and SRV_PID. Returns 1 if the server did not get ready.
start_server() {
    local line=
    exec {SRV_FD}< <(exec "$EXE" serve "$@" 2>>"$T/server.log")
    SRV_PID=$!
    if ! read -r -t 20 -u "$SRV_FD" line; then
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

# stop_server: SIGTERM, then wait (bounded) for the exit; sets SRV_RC.
stop_server() {
    SRV_RC=
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null
        local i
        for i in $(seq 100); do
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SRV_PID" 2>/dev/null; then
            kill -KILL "$SRV_PID" 2>/dev/null
            SRV_RC=killed
        fi
        wait "$SRV_PID" 2>/dev/null
        [ -z "$SRV_RC" ] && SRV_RC=$?
        SRV_PID=
    fi
    if [ -n "$SRV_FD" ]; then
        exec {SRV_FD}<&-
        SRV_FD=
    fi
}

# req METHOD PATH [CURL ARGS...]: sets CODE, BODY (text), HDRS (file of headers).
CURL_BASE=(-sS --max-time 30)
req() {
    local method=$1 path=$2
    shift 2
    HDRS=$T/headers
    : >"$HDRS"
    local m=(-X "$method") out=(-o "$T/body") a
    [ "$method" = HEAD ] && m=(-I)
    rm -f "$T/body"
    for a in "$@"; do [ "$a" = -o ] && out=(); done # the caller saves the body itself
    CODE=$(curl "${CURL_BASE[@]}" "${m[@]}" "${out[@]}" -D "$HDRS" -w '%{http_code}' \
        "$@" "$URL$path" 2>"$T/curl.err")
    CURL_RC=$?
    BODY=
    [ -f "$T/body" ] && BODY=$(tr -d '\0' <"$T/body")
}

# post_json JSON [CURL ARGS...]
post_json() {
    local json=$1
    shift
    req POST /v1.0/exports -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

# header NAME: value of a response header of the last req (trimmed).
header() {
    sed -n "s/^$1: *//Ip" "$HDRS" | tr -d '\r' | tail -n 1
}

# jfield NAME: the string or number value of the first "NAME": in BODY.
jfield() {
    printf '%s' "$BODY" | grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed "s/^\"$1\":\"\{0,1\}//"
}

# wait_state ID STATE...: polls the status (bounded) until statut is one of the STATEs; sets
# STATE (the last statut seen) and leaves BODY as that answer. Honours Retry-After when the server
# asks for more than 1 s.
wait_state() {
    local id=$1 i
    shift
    STATE=
    for i in $(seq 200); do
        req GET "/v1.0/exports/$id"
        if [ "$CODE" = 200 ]; then
            STATE=$(jfield statut)
            local s
            for s in "$@"; do [ "$STATE" = "$s" ] && return 0; done
        fi
        sleep 0.1
    done
    return 1
}

# A new export (all entities, no location filter); sets ID.
new_export() {
    post_json '{"entites":["CERFA","DALO","EVT","CONT","ATTRIB","PRIO","COTA","PJ","DRM"],"etatDemande":"ACTIVE"}' "$@"
    ID=$(jfield numeroExport)
}

# elapsed SECONDS_SINCE_EPOCH_START: whole milliseconds since then.
now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

finish() {
    stop_server
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
