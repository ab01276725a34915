#!/usr/bin/env bash
# gdm.sh EXE: GET /v1.0/demandes/mouvements over a hand-written mouvements.tsv: the 7-day limit
# (from register.txt's snapshot), jusque, paging by prochainCurseur, the department, commune and
# guichet filters (with and without the optional columns), and the 400s.
. "$(dirname "$0")/lib.sh"

D=$T/data
mkdir -p "$D"
printf 'format=snesync-sim-register 1\nsnapshot=2026-10-31T02:00:00+01:00\n' >"$D/register.txt"
TAB=$'\t'
cat >"$D/mouvements.tsv" <<TSV
0380126000001G1700${TAB}2026-10-24T22:02:00Z
0750826000006G2416${TAB}2026-10-25T10:00:00Z
0380226000002G1700${TAB}2026-10-26T10:00:00Z${TAB}38185,38421
9710518000011G8356${TAB}2026-10-27T11:00:00+01:00
02A0626000003G2001${TAB}2026-10-28T10:00:00Z
0690126000004G3000${TAB}2026-10-29T10:00:00Z${TAB}38185${TAB}G9999
0380326000005G1234${TAB}2026-10-30T10:00:00Z${TAB}69123
a malformed line
0130120000001G1938${TAB}2026-10-31T00:30:00Z
TSV
start_server --data "$D" --port 0 --gdm-page-size 3 || finish

# nums QUERY: the numUniques of all pages, following prochainCurseur (bounded), space-separated;
# sets PAGES.
nums() {
    local q=$1 cur= out= i
    PAGES=0
    for i in $(seq 20); do
        req GET "/v1.0/demandes/mouvements?$q${cur:+&curseur=$cur}"
        [ "$CODE" = 200 ] || { echo "HTTP $CODE"; return; }
        PAGES=$((PAGES + 1))
        out="$out $(printf '%s' "$BODY" | grep -o '"numUnique":"[0-9A-Z]*"' | cut -d'"' -f4 | tr '\n' ' ')"
        cur=$(jfield prochainCurseur)
        [ -z "$cur" ] && break
    done
    echo $out
}
D7=depuis=2026-10-24T01:00:00Z
ALL="0380126000001G1700 0750826000006G2416 0380226000002G1700 9710518000011G8356 02A0626000003G2001 0690126000004G3000 0380326000005G1234 0130120000001G1938"

req GET "/v1.0/demandes/mouvements?$D7"
check "GDM 200" 200 "$CODE"
check "application/json" application/json "$(header Content-Type)"
check "first page has a cursor" 1 "$([ -n "$(jfield prochainCurseur)" ] && echo 1)"
check "dateMouvement as in the register" 2026-10-24T22:02:00Z "$(jfield dateMouvement)"
nums "$D7" >"$T/all"
check "all movements, oldest first, over pages" "$ALL" "$(cat "$T/all")"
check "three pages of 3" 3 "$PAGES"
check "last page has no prochainCurseur" "" "$(jfield prochainCurseur)"
check "the malformed line is logged, not its content" 1 "$(grep -q 'malformed lines' "$T/server.log" && ! grep -q 'a malformed line' "$T/server.log" && echo 1)"

check "depuis filters" "0130120000001G1938" "$(nums "depuis=2026-10-30T10:00:01Z")"
check "jusque is inclusive" "0380126000001G1700 0750826000006G2416 0380226000002G1700" \
    "$(nums "$D7&jusque=2026-10-26T10:00:00Z")"
check "time zones are honoured" "9710518000011G8356" \
    "$(nums "depuis=2026-10-27T10:00:00Z&jusque=2026-10-27T10:00:00Z")"
check "departements=38 (numUnique, or the communes column when present)" \
    "0380126000001G1700 0380226000002G1700 0690126000004G3000" "$(nums "$D7&departements=38")"
check "departements=69 (communes column)" "0380326000005G1234" "$(nums "$D7&departements=69")"
check "departements=2A" "02A0626000003G2001" "$(nums "$D7&departements=2A")"
check "departements=971" "9710518000011G8356" "$(nums "$D7&departements=971")"
check "repeated departements" "0380126000001G1700 0750826000006G2416 0380226000002G1700 0690126000004G3000" \
    "$(nums "$D7&departements=38&departements=75")"
check "comma-separated departements" "$(nums "$D7&departements=38&departements=75")" \
    "$(nums "$D7&departements=38,75")"
check "communes=38185 (over-inclusive without the column)" \
    "0380126000001G1700 0380226000002G1700 0690126000004G3000" "$(nums "$D7&communes=38185")"
check "communes=38421" "0380126000001G1700 0380226000002G1700" "$(nums "$D7&communes=38421")"
check "guichetsExclus=G1700 (numUnique's guichet)" \
    "0750826000006G2416 9710518000011G8356 02A0626000003G2001 0690126000004G3000 0380326000005G1234 0130120000001G1938" \
    "$(nums "$D7&guichetsExclus=G1700")"
check "guichetsExclus=G9999 (guichet column)" \
    "0380126000001G1700 0380226000002G1700" "$(nums "$D7&departements=38&guichetsExclus=G9999")"
check "guichetsExclus=G3000 does not apply when the column names another" \
    "0380126000001G1700 0380226000002G1700 0690126000004G3000" \
    "$(nums "$D7&departements=38&guichetsExclus=G3000")"
check "no match: empty list" "" "$(nums "$D7&departements=01")"
req GET "/v1.0/demandes/mouvements?$D7&departements=01"
check "empty list body, with the window's end" '{"mouvements":[],"jusque":"2026-10-31T01:00:00.000Z"}' "$BODY"

# jusque: every page echoes the window's end; without one asked for, the server's instant (the
# register's newest date) when the sequence began, kept by the cursor
req GET "/v1.0/demandes/mouvements?$D7"
check "jusque echoed: the server's instant" 2026-10-31T01:00:00.000Z "$(jfield jusque)"
req GET "/v1.0/demandes/mouvements?$D7&curseur=$(jfield prochainCurseur)"
check "jusque echoed on the next page" 2026-10-31T01:00:00.000Z "$(jfield jusque)"
req GET "/v1.0/demandes/mouvements?$D7&jusque=2026-10-28T11:00:00%2B01:00"
check "jusque asked for is echoed (UTC)" 2026-10-28T10:00:00.000Z "$(jfield jusque)"
req GET "/v1.0/demandes/mouvements?$D7&curseur=$(jfield prochainCurseur)"
check "the cursor keeps the window: page 2 echoes its end" 2026-10-28T10:00:00.000Z "$(jfield jusque)"
check "... and lists nothing after it" "9710518000011G8356 02A0626000003G2001" \
    "$(printf '%s' "$BODY" | grep -o '"numUnique":"[0-9A-Z]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"

bad() {
    req GET "/v1.0/demandes/mouvements?$2"
    check "400 for $1" 400 "$CODE"
    [ "$CODE" = 400 ] && check "  problem+json" application/problem+json "$(header Content-Type)"
}
bad "no depuis" ""
bad "depuis more than 7 days back" "depuis=2026-10-24T00:59:59Z"
bad "depuis not a date" "depuis=yesterday"
bad "jusque before depuis" "$D7&jusque=2026-10-20T00:00:00Z"
bad "bad department" "$D7&departements=977"
bad "bad commune" "$D7&communes=381"
bad "bad guichet" "$D7&guichetsExclus=G%2F1"
bad "unknown parameter" "$D7&foo=1"
bad "repeated depuis" "$D7&$D7"
bad "bad cursor" "$D7&curseur=zz"
req POST "/v1.0/demandes/mouvements?$D7"
check "POST: 405" 405 "$CODE"
stop_server

# --- without register.txt nor mouvements.tsv: no movement, the limit counts from now
mkdir -p "$T/empty"
start_server --data "$T/empty" --port 0 || finish
req GET "/v1.0/demandes/mouvements?depuis=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)"
check_match "no register: 200 empty, jusque now" '^\{"mouvements":\[\],"jusque":"20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z"\}$' "$BODY"
req GET "/v1.0/demandes/mouvements?depuis=$(date -u -d '-8 days' +%Y-%m-%dT%H:%M:%SZ)"
check "no register: 8 days back is 400" 400 "$CODE"
finish
