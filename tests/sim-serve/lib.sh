# lib.sh: shared helpers of the sim-serve tests (sourced). Drives the real `snesync-sim serve`
# with plain curl on loopback. Readiness is the "listening on" line read from the server's stdout
# (no sleeps); status polls are bounded loops. Checks and the server's life: common.sh.
set -u

EXE=${1:?usage: $0 PATH/TO/snesync-sim}
EXE=$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE")
SIM=$EXE
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
common_init sim-serve-test

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

# start_server ARGS...: `snesync-sim serve ARGS` (common.sh); sets URL and SRV_PID.
start_server() { serve "$@"; }

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
