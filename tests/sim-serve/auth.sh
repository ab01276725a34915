#!/usr/bin/env bash
# auth.sh EXE: --token-file: requests without or with a wrong bearer token get 401 (problem+json,
# WWW-Authenticate: Bearer); the right token passes; the token never reaches the log.
. "$(dirname "$0")/lib.sh"

make_data "$T/data"
TOKEN="s3cr3t-$RANDOM-$RANDOM-token"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 --token-file "$T/token" ||
    finish

new_export
check "POST without a token: 401" 401 "$CODE"
check "401 is problem+json" application/problem+json "$(header Content-Type)"
check "401 WWW-Authenticate" Bearer "$(header WWW-Authenticate)"
req GET /v1.0/exports/X1
check "GET without a token: 401" 401 "$CODE"
req GET "/v1.0/demandes/mouvements?depuis=2026-10-30T00:00:00Z"
check "GDM without a token: 401" 401 "$CODE"
new_export -H "Authorization: Bearer wrong-$TOKEN"
check "wrong token: 401" 401 "$CODE"
new_export -H "Authorization: Bearer ${TOKEN%?}"
check "token prefix: 401" 401 "$CODE"
new_export -H "Authorization: Basic $TOKEN"
check "not a bearer scheme: 401" 401 "$CODE"

AUTH=(-H "Authorization: Bearer $TOKEN")
new_export "${AUTH[@]}"
check "POST with the token: 202" 202 "$CODE"
wait_state_auth() {
    local i
    for i in $(seq 200); do
        req GET "/v1.0/exports/$ID" "${AUTH[@]}"
        STATE=$(jfield statut)
        [ "$STATE" = TERMINE ] || [ "$STATE" = ECHEC ] && return 0
        sleep 0.1
    done
}
wait_state_auth
check "status with the token: TERMINE" TERMINE "$STATE"
SHA=$(jfield sha256)
req GET "/v1.0/exports/$ID/fichier" -o "$T/a.tgz"
check "download without the token: 401" 401 "$CODE"
req GET "/v1.0/exports/$ID/fichier" "${AUTH[@]}" -o "$T/a.tgz"
check "download with the token: 200" 200 "$CODE"
check "sha256" "$SHA" "$(sha256sum "$T/a.tgz" | cut -d' ' -f1)"
req DELETE "/v1.0/exports/$ID"
check "DELETE without the token: 401" 401 "$CODE"
req DELETE "/v1.0/exports/$ID" "${AUTH[@]}"
check "DELETE with the token: 204" 204 "$CODE"
stop_server
check "clean stop" 0 "$SRV_RC"
check "the token is not in the log" 0 "$(grep -c -- "$TOKEN" "$T/server.log")"
check "the log records the 401s" 1 "$(grep -q -- '-> 401' "$T/server.log" && echo 1)"

# --- a token file that cannot be used
: >"$T/empty"
"$EXE" serve --data "$T/data" --port 0 --token-file "$T/empty" >/dev/null 2>&1
check "empty token file: exit 2" 2 "$?"
"$EXE" serve --data "$T/data" --port 0 --token-file "$T/missing" >/dev/null 2>&1
check "missing token file: exit 2" 2 "$?"
finish
