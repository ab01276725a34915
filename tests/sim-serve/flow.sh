#!/usr/bin/env bash
# flow.sh EXE: the whole contract flow against `snesync-sim serve`: POST, poll until TERMINE,
# download with Range resume, sha256 check, ETag, DELETE, and the 400/404/405/409/410/416/429
# answers, then a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"

make_data "$T/data"
# The first export is slowed down by the fault plan (60 s) so that its in-progress answers can be
# checked without racing the clock; the next ones are immediate.
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 --faults "export:slow@60" \
    --work-dir "$T/work" || finish

# --- POST, 202, Location, EN_ATTENTE
new_export
check "POST answers 202" 202 "$CODE"
check_match "numeroExport" '^[0-9A-Za-z_-]{1,40}$' "$ID"
check "Location" "/v1.0/exports/$ID" "$(header Location)"
check "statut EN_ATTENTE" EN_ATTENTE "$(jfield statut)"
check "Content-Type JSON" application/json "$(header Content-Type)"
SLOW=$ID

# --- one export in progress per guichet
post_json '{"entites":["DRM"],"etatDemande":"ACTIVE","profondeurDrm":2}'
check "second export while one runs: 429" 429 "$CODE"
check "429 has Retry-After" 1 "$(header Retry-After)"
check "429 is problem+json" application/problem+json "$(header Content-Type)"

# --- status while generating: Retry-After, progression
req GET "/v1.0/exports/$SLOW"
check "status 200" 200 "$CODE"
check_match "status in progress" '^(EN_ATTENTE|EN_COURS)$' "$(jfield statut)"
check "Retry-After while generating" 1 "$(header Retry-After)"
check_match "progression 0..100" '^[0-9]+$' "$(jfield progression)"
req GET "/v1.0/exports/$SLOW/fichier"
check "file before TERMINE: 409" 409 "$CODE"
check "409 is problem+json" application/problem+json "$(header Content-Type)"

# --- DELETE cancels an export in progress, which frees the guichet
req DELETE "/v1.0/exports/$SLOW"
check "DELETE in progress: 204" 204 "$CODE"
req GET "/v1.0/exports/$SLOW"
check "status after DELETE: 404" 404 "$CODE"

new_export
check "a new export once the previous one is released: 202" 202 "$CODE"
check "a new numeroExport" 1 "$([ "$ID" != "$SLOW" ] && echo 1)"
wait_state "$ID" TERMINE ECHEC
check "reaches TERMINE" TERMINE "$STATE"
SIZE=$(jfield taille)
SHA=$(jfield sha256)
NB=$(jfield nombreDemandes)
check "fichier.url" "/v1.0/exports/$ID/fichier" "$(jfield url)"
check_match "taille" '^[1-9][0-9]*$' "$SIZE"
check_match "sha256" '^[0-9a-f]{64}$' "$SHA"
check_match "nombreDemandes" '^[0-9]+$' "$NB"
check_match "dateExport" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(jfield dateExport)"
check_match "expiration" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(jfield expiration)"
check "no Retry-After once TERMINE" "" "$(header Retry-After)"

# --- the whole file
req GET "/v1.0/exports/$ID/fichier" -o "$T/full.tgz"
check "download 200" 200 "$CODE"
check "Content-Type gzip" application/gzip "$(header Content-Type)"
check "Content-Length is taille" "$SIZE" "$(header Content-Length)"
check "ETag is the quoted sha256" "\"$SHA\"" "$(header ETag)"
check "sha256sum of the download" "$SHA" "$(sha256sum "$T/full.tgz" | cut -d' ' -f1)"
check "it is gzip" 0 "$(gzip -t "$T/full.tgz" 2>/dev/null; echo $?)"
check "it is a tar of XML parts" 0 "$(tar tzf "$T/full.tgz" | grep -q '\.xml$'; echo $?)"
last=$(tar -xzOf "$T/full.tgz" | grep -o '<ns1:dernierePeriodeDrm>[^<]*' | cut -d'>' -f2 | sort -u)
newest=$(tar -xzOf "$T/full.tgz" | grep -o '<ns1:periode>[^<]*' | cut -d'>' -f2 | sort | tail -n 1)
check_match "DRM asked: dernierePeriodeDrm is a period" '^[0-9]{4}-(0[1-9]|1[0-2])$' "$last"
check "dernierePeriodeDrm is the newest DRM month carried" "$newest" "$last"

# --- HEAD
req HEAD "/v1.0/exports/$ID/fichier"
check "HEAD 200" 200 "$CODE"
check "HEAD Content-Length" "$SIZE" "$(header Content-Length)"

# --- resume with Range: first part, then the rest
HALF=$((SIZE / 2))
req GET "/v1.0/exports/$ID/fichier" -r "0-$((HALF - 1))" -o "$T/part.tgz"
check "Range bytes=0-N: 206" 206 "$CODE"
check "Content-Range first half" "bytes 0-$((HALF - 1))/$SIZE" "$(header Content-Range)"
check "first half length" "$HALF" "$(stat -c %s "$T/part.tgz")"
req GET "/v1.0/exports/$ID/fichier" -H "Range: bytes=$HALF-" -o "$T/rest.tgz"
check "Range bytes=N-: 206" 206 "$CODE"
check "Content-Range rest" "bytes $HALF-$((SIZE - 1))/$SIZE" "$(header Content-Range)"
cat "$T/part.tgz" "$T/rest.tgz" >"$T/resumed.tgz"
check "resumed download sha256" "$SHA" "$(sha256sum "$T/resumed.tgz" | cut -d' ' -f1)"
# curl's own resume (-C -) on a partial file
head -c 1000 "$T/full.tgz" >"$T/curl-resume.tgz"
req GET "/v1.0/exports/$ID/fichier" -C - -o "$T/curl-resume.tgz"
check "curl -C - resumes: 206" 206 "$CODE"
check "curl -C - result sha256" "$SHA" "$(sha256sum "$T/curl-resume.tgz" | cut -d' ' -f1)"
req GET "/v1.0/exports/$ID/fichier" -H "Range: bytes=-10" -o "$T/suffix"
check "suffix range: 206" 206 "$CODE"
check "suffix range bytes" "bytes $((SIZE - 10))-$((SIZE - 1))/$SIZE" "$(header Content-Range)"
req GET "/v1.0/exports/$ID/fichier" -H "Range: bytes=0-9" -H 'If-Range: "0000"' -o /dev/null
check "If-Range mismatch: whole file 200" 200 "$CODE"
req GET "/v1.0/exports/$ID/fichier" -H "Range: bytes=$SIZE-"
check "Range past the end: 416" 416 "$CODE"
check "416 Content-Range" "bytes */$SIZE" "$(header Content-Range)"
check "416 is problem+json" application/problem+json "$(header Content-Type)"

# --- problems
req GET "/v1.0/exports/NOPE123"
check "unknown export: 404" 404 "$CODE"
check "404 problem status" 404 "$(jfield status)"
req GET "/v1.0/exports/NOPE123/fichier"
check "unknown export file: 404" 404 "$CODE"
req DELETE "/v1.0/exports/NOPE123"
check "DELETE unknown: 404" 404 "$CODE"
req PUT "/v1.0/exports/$ID"
check "PUT: 405" 405 "$CODE"
req GET "/v1.0/nothing"
check "unknown path: 404" 404 "$CODE"

bad_post() {
    post_json "$2"
    check "400 for $1" 400 "$CODE"
}
bad_post "malformed JSON" '{"entites":["CERFA"],'
bad_post "missing entites" '{"etatDemande":"ACTIVE"}'
bad_post "empty entites" '{"entites":[],"etatDemande":"ACTIVE"}'
bad_post "unknown entity" '{"entites":["FOO"],"etatDemande":"ACTIVE"}'
bad_post "repeated entity" '{"entites":["EVT","EVT"],"etatDemande":"ACTIVE"}'
bad_post "missing etatDemande" '{"entites":["CERFA"]}'
bad_post "bad etatDemande" '{"entites":["CERFA"],"etatDemande":"ALL"}'
bad_post "bad department" '{"entites":["CERFA"],"etatDemande":"ACTIVE","departements":["977"]}'
bad_post "bad commune" '{"entites":["CERFA"],"etatDemande":"ACTIVE","communes":["3818"]}'
bad_post "departements and communes" \
    '{"entites":["CERFA"],"etatDemande":"ACTIVE","departements":["38"],"communes":["38185"]}'
bad_post "profondeurDrm without DRM" '{"entites":["CERFA"],"etatDemande":"ACTIVE","profondeurDrm":2}'
bad_post "profondeurDrm 4" '{"entites":["DRM"],"etatDemande":"ACTIVE","profondeurDrm":4}'
bad_post "profondeurDrm not an integer" '{"entites":["DRM"],"etatDemande":"ACTIVE","profondeurDrm":1.5}'
bad_post "unknown member" '{"entites":["CERFA"],"etatDemande":"ACTIVE","x":1}'
bad_post "trailing text" '{"entites":["CERFA"],"etatDemande":"ACTIVE"} x'
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /v1.0/exports -H 'Content-Type: application/json' --data-binary "@$T/big.json"
check "400 for a body over 64 KiB" 400 "$CODE"
req POST /v1.0/exports -H 'Content-Type: text/plain' --data-binary '{"entites":["CERFA"],"etatDemande":"ACTIVE"}'
check "400 for a non-JSON Content-Type" 400 "$CODE"

# --- DELETE
req DELETE "/v1.0/exports/$ID"
check "DELETE: 204" 204 "$CODE"
req GET "/v1.0/exports/$ID"
check "status after DELETE: 404" 404 "$CODE"
req GET "/v1.0/exports/$ID/fichier"
check "file after DELETE: 404" 404 "$CODE"
check "the file is removed from the work dir" 0 "$(find "$T/work" -type f | wc -l)"

# --- communes, RADIEE, DRM with depth: accepted
post_json '{"entites":["DRM","CERFA"],"etatDemande":"RADIEE","communes":["38185","2A004"],"profondeurDrm":1}'
check "POST with communes and profondeurDrm: 202" 202 "$CODE"
ID=$(jfield numeroExport)
wait_state "$ID" TERMINE ECHEC
check "it reaches TERMINE" TERMINE "$STATE"
stop_server
check "clean stop on SIGTERM (exit 0)" 0 "$SRV_RC"
check "work dir emptied at stop" 0 "$(find "$T/work" -type f | wc -l)"
check "stopping logged" 1 "$(grep -c 'stopping' "$T/server.log")"

# --- expiry: 410, EXPIRE
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 --expire-seconds 2 || finish
new_export
wait_state "$ID" TERMINE ECHEC EXPIRE
check_match "TERMINE (expiry run)" '^(TERMINE|EXPIRE)$' "$STATE"
for i in $(seq 50); do
    req GET "/v1.0/exports/$ID/fichier" -o /dev/null
    [ "$CODE" = 410 ] && break
    sleep 0.1
done
check "file after expiry: 410" 410 "$CODE"
req GET "/v1.0/exports/$ID"
check "statut EXPIRE" EXPIRE "$(jfield statut)"
stop_server

# --- polling faster than --min-poll: 429 with Retry-After
start_server --data "$T/data" --port 0 --retry-after 3 --min-poll 3 --generation-seconds 10 || finish
new_export
check "POST (min-poll run)" 202 "$CODE"
req GET "/v1.0/exports/$ID"
check "poll right after POST: 429" 429 "$CODE"
check_match "its Retry-After" '^[1-3]$' "$(header Retry-After)"
stop_server
check "stop while a generation runs: exit 0" 0 "$SRV_RC"

# --- SIGINT stops cleanly too
start_server --data "$T/data" --port 0 || finish
kill -INT "$SRV_PID"
for i in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SRV_PID"
check "clean stop on SIGINT (exit 0)" 0 "$?"
SRV_PID=
stop_server

# --- usage
"$EXE" serve --help >"$T/help" 2>&1
check "--help exits 0" 0 "$?"
check "--help mentions --faults" 1 "$(grep -c -- '--faults SPEC' "$T/help")"
"$EXE" serve --port 0 >/dev/null 2>&1
check "missing --data: exit 2" 2 "$?"
"$EXE" serve --data "$T/data" --port 0 --faults "post:999" >/dev/null 2>&1
check "bad fault spec: exit 2" 2 "$?"
"$EXE" serve --data "$T/data" --port 0 --bind localhost >/dev/null 2>&1
check "--bind takes an address: exit 2" 2 "$?"
"$EXE" serve --data "$T/data" --port 0 --retry-after x >/dev/null 2>&1
check "bad --retry-after: exit 2" 2 "$?"
finish
