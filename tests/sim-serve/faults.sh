#!/usr/bin/env bash
# faults.sh EXE: every fault of the plan (grammar in sim/server/serve.h): 503/429 with Retry-After at
# each point, delay, a cut mid-download then a resume, a body that is not gzip, a truncated
# archive, a wrong sha256, an ECHEC export, a slow generation, *always, +skip, --faults-file, an
# HTML page instead of JSON, a body that trickles, a Content-Length longer or shorter than the
# body.
. "$(dirname "$0")/lib.sh"

make_data "$T/data"

# --- status codes and delays at the HTTP points
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 \
    --faults "post:503@4*2,status:429+1,status:delay@1500+3,delete:503@7,gdm:429@9" || finish
new_export
check "post:503 first POST" 503 "$CODE"
check "post:503 Retry-After from @4" 4 "$(header Retry-After)"
check "post:503 problem+json" application/problem+json "$(header Content-Type)"
new_export
check "post:503*2 second POST" 503 "$CODE"
new_export
check "third POST passes" 202 "$CODE"
req GET "/v1.0/exports/$ID"
check "status:429+1 lets the first poll pass" 200 "$CODE"
req GET "/v1.0/exports/$ID"
check "status:429+1 second poll" 429 "$CODE"
check "status:429 Retry-After (default --retry-after)" 1 "$(header Retry-After)"
req GET "/v1.0/exports/$ID"
check "third poll passes" 200 "$CODE"
t0=$(now_ms)
req GET "/v1.0/exports/$ID"
t1=$(now_ms)
check "status:delay+3 fourth poll still answers" 200 "$CODE"
check "status:delay@1500 delays the answer" 1 "$(( t1 - t0 >= 1400 ? 1 : 0 ))"
wait_state "$ID" TERMINE ECHEC
check "export TERMINE" TERMINE "$STATE"
req DELETE "/v1.0/exports/$ID"
check "delete:503" 503 "$CODE"
check "delete:503 Retry-After" 7 "$(header Retry-After)"
req DELETE "/v1.0/exports/$ID"
check "second DELETE passes" 204 "$CODE"
req GET "/v1.0/demandes/mouvements?depuis=2026-10-30T00:00:00Z"
check "gdm:429" 429 "$CODE"
check "gdm:429 Retry-After" 9 "$(header Retry-After)"
req GET "/v1.0/demandes/mouvements?depuis=2026-10-30T00:00:00Z"
check "second GDM call passes" 200 "$CODE"
stop_server
check "the log names the injected faults" 1 "$(grep -q 'fault 503 injected' "$T/server.log" && echo 1)"

# --- download faults: a cut mid-download, a resume, a page that is not gzip
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 \
    --faults "file:cut@1000,file:notgzip+2,file:503*1+3" || finish
new_export
wait_state "$ID" TERMINE ECHEC
SIZE=$(jfield taille)
SHA=$(jfield sha256)
check "archive larger than the cut" 1 "$(( SIZE > 1000 ? 1 : 0 ))"
req GET "/v1.0/exports/$ID/fichier" -o "$T/dl.tgz"
check "file:cut: curl reports a partial transfer (18)" 18 "$CURL_RC"
check "file:cut: 1000 bytes received" 1000 "$(stat -c %s "$T/dl.tgz")"
check "file:cut: Content-Length announced the whole file" "$SIZE" "$(header Content-Length)"
req GET "/v1.0/exports/$ID/fichier" -C - -o "$T/dl.tgz"
check "resume after the cut: 206" 206 "$CODE"
check "resume Content-Range" "bytes 1000-$((SIZE - 1))/$SIZE" "$(header Content-Range)"
check "resumed file sha256" "$SHA" "$(sha256sum "$T/dl.tgz" | cut -d' ' -f1)"
req GET "/v1.0/exports/$ID/fichier" -o "$T/notgzip"
check "file:notgzip: 200" 200 "$CODE"
check_match "file:notgzip: text/html" '^text/html' "$(header Content-Type)"
check "file:notgzip: not gzip" 1 "$(gzip -t "$T/notgzip" >/dev/null 2>&1 || echo 1)"
check "file:notgzip: sha256 differs" 1 "$([ "$(sha256sum <"$T/notgzip" | cut -d' ' -f1)" != "$SHA" ] && echo 1)"
req GET "/v1.0/exports/$ID/fichier" -o /dev/null
check "file:503+3 on the fourth download" 503 "$CODE"
check "file:503 Retry-After" 1 "$(header Retry-After)"
req GET "/v1.0/exports/$ID/fichier" -o "$T/ok.tgz"
check "then downloads are clean" 200 "$CODE"
check "clean download sha256" "$SHA" "$(sha256sum "$T/ok.tgz" | cut -d' ' -f1)"
stop_server

# --- export faults, one per export in order: echec, slow, truncate, badsha
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 \
    --faults "export:echec,export:slow@8,export:truncate,export:badsha" || finish
new_export
wait_state "$ID" TERMINE ECHEC
check "export:echec ends ECHEC" ECHEC "$STATE"
check "ECHEC erreur.code" ERREUR_SIMULEE "$(jfield code)"
check "ECHEC has no fichier" "" "$(jfield taille)"
req GET "/v1.0/exports/$ID/fichier"
check "file of an ECHEC export: 409" 409 "$CODE"

new_export
check "POST after ECHEC: 202" 202 "$CODE"
req GET "/v1.0/exports/$ID"
check "export:slow starts EN_ATTENTE" EN_ATTENTE "$(jfield statut)"
check "EN_ATTENTE progression 0" 0 "$(jfield progression)"
wait_state "$ID" EN_COURS TERMINE
check "export:slow then EN_COURS" EN_COURS "$STATE"
P1=$(jfield progression)
check "EN_COURS has Retry-After" 1 "$(header Retry-After)"
wait_state "$ID" TERMINE ECHEC
check "export:slow then TERMINE" TERMINE "$STATE"
check "TERMINE progression 100" 100 "$(jfield progression)"
check_match "progression while EN_COURS" '^[0-9]+$' "$P1"
GOOD_SIZE=$(jfield taille)

new_export
wait_state "$ID" TERMINE ECHEC
check "export:truncate TERMINE" TERMINE "$STATE"
SIZE=$(jfield taille)
SHA=$(jfield sha256)
check "truncate: announced size is half" "$((GOOD_SIZE / 2))" "$SIZE"
req GET "/v1.0/exports/$ID/fichier" -o "$T/trunc.tgz"
check "truncate: download 200" 200 "$CODE"
check "truncate: size matches the announced one" "$SIZE" "$(stat -c %s "$T/trunc.tgz")"
check "truncate: sha256 matches the announced one" "$SHA" "$(sha256sum "$T/trunc.tgz" | cut -d' ' -f1)"
check "truncate: the gzip stream is broken" 1 "$(gzip -t "$T/trunc.tgz" >/dev/null 2>&1 || echo 1)"

new_export
wait_state "$ID" TERMINE ECHEC
SHA=$(jfield sha256)
check_match "badsha: still a sha256" '^[0-9a-f]{64}$' "$SHA"
req GET "/v1.0/exports/$ID/fichier" -o "$T/bad.tgz"
check "badsha: ETag carries the announced sha256" "\"$SHA\"" "$(header ETag)"
check "badsha: the data does not match it" 1 "$([ "$(sha256sum "$T/bad.tgz" | cut -d' ' -f1)" != "$SHA" ] && echo 1)"
check "badsha: the data itself is a sound gzip" 0 "$(gzip -t "$T/bad.tgz" 2>/dev/null; echo $?)"
stop_server

# --- export:echec@N: erreur.message is N bytes of hostile text (control characters, an ANSI
# escape, quotes, a backslash, non-ASCII) that clients must clean and bound; @N over 1024 is
# refused at start-up
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 --faults "export:echec@300" ||
    finish
new_export
wait_state "$ID" TERMINE ECHEC
check "export:echec@300 ends ECHEC" ECHEC "$STATE"
check "echec@300: erreur.code" ERREUR_SIMULEE "$(jfield code)"
check "echec@300: erreur.message is 300 bytes of UTF-8 once decoded" 300 "$(printf '%s' "$BODY" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["erreur"]["message"].encode()))')"
for esc in '\u001b[31m' '\u000a' '\u000d' '\u0009' '\"q\"' '\\' $'\xc2\xab'; do
    check "echec@300: the message holds $esc" 1 "$(printf '%s' "$BODY" | grep -cF -- "$esc")"
done
stop_server
"$SIM" serve --data "$T/data" --port 0 --faults "export:echec@1025" >/dev/null 2>"$T/echec.err"
check "export:echec@1025 refused: exit 2" 2 "$?"
check_match "export:echec@1025 refused: says the bound" 'at most 1024 bytes' "$(cat "$T/echec.err")"

# --- *always, and a fault file with comments
cat >"$T/faults.txt" <<'PLAN'
# every POST fails with 500
post:500*always
status:503*1   # one transient status error
PLAN
start_server --data "$T/data" --port 0 --retry-after 2 --min-poll 0 \
    --faults-file "$T/faults.txt" || finish
for i in 1 2 3; do
    new_export
    check "post:500*always, POST $i" 500 "$CODE"
    check "500 has no Retry-After" "" "$(header Retry-After)"
done
req GET /v1.0/exports/X1
check "status:503 from the file" 503 "$CODE"
check "status:503 Retry-After (--retry-after)" 2 "$(header Retry-After)"
req GET /v1.0/exports/X1
check "then the status answers normally (404)" 404 "$CODE"
stop_server

# --- answers that are not what they say: an HTML page instead of JSON, a body that trickles, a
# Content-Length longer or shorter than the body
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 \
    --faults "post:html,status:html,status:trickle@100,file:longer@100,file:shorter,file:trickle@200*2" ||
    finish
new_export
check "post:html: 200 instead of 202" 200 "$CODE"
check_match "post:html: text/html" '^text/html' "$(header Content-Type)"
check_match "post:html: a page" '<html>' "$BODY"
new_export
check "then the POST passes" 202 "$CODE"
req GET "/v1.0/exports/$ID"
check "status:html: 200" 200 "$CODE"
check_match "status:html: text/html, not JSON" '^text/html' "$(header Content-Type)"
t0=$(now_ms)
req GET "/v1.0/exports/$ID" --max-time 1
t1=$(now_ms)
check "status:trickle: curl gives up after its 1 s (28)" 28 "$CURL_RC"
check "status:trickle: the headers came at once" 200 "$CODE"
check_match "status:trickle: a few bytes of the JSON in 1 s" '^\{"(n(u(m(e(r(o(E(x(p)?)?)?)?)?)?)?)?)?)?$' "$BODY"
check "status:trickle: curl stopped at its limit, not later" 1 "$(( t1 - t0 < 3000 ? 1 : 0 ))"
wait_state "$ID" TERMINE ECHEC
check "then the status answers at full speed" TERMINE "$STATE"
SIZE=$(jfield taille)
SHA=$(jfield sha256)
req GET "/v1.0/exports/$ID/fichier" -o "$T/long.tgz"
check "file:longer: curl reports a partial transfer (18)" 18 "$CURL_RC"
check "file:longer: Content-Length is 100 bytes more than the file" "$((SIZE + 100))" \
    "$(header Content-Length)"
check "file:longer: the whole file came, then the connection closed" "$SHA" \
    "$(sha256sum "$T/long.tgz" | cut -d' ' -f1)"
req GET "/v1.0/exports/$ID/fichier" -o "$T/short.tgz"
HALF=$((SIZE - (SIZE + 1) / 2))
check "file:shorter: a sound answer for curl (0)" "0 200" "$CURL_RC $CODE"
check "file:shorter: Content-Length is half the file" "$HALF" "$(header Content-Length)"
check "file:shorter: that many bytes, the file's first" "$HALF $(head -c "$HALF" "$T/long.tgz" | md5sum)" \
    "$(stat -c %s "$T/short.tgz") $(md5sum <"$T/short.tgz")"
t0=$(now_ms)
req GET "/v1.0/exports/$ID/fichier" -o "$T/trickle.tgz" --max-time 2
t1=$(now_ms)
got=$(stat -c %s "$T/trickle.tgz" 2>/dev/null || echo 0)
check "file:trickle: curl gives up after its 2 s (28)" 28 "$CURL_RC"
check "file:trickle: Content-Length announces the whole file" "$SIZE" "$(header Content-Length)"
check "file:trickle: a byte every 200 ms (3 to 15 in 2 s)" 1 "$(( got >= 3 && got <= 15 ? 1 : 0 ))"
check "file:trickle: the archive's own first bytes" "$(head -c "$got" "$T/long.tgz" | md5sum)" \
    "$(md5sum <"$T/trickle.tgz")"
# a trickle still running when the server is asked to stop does not hold it up
curl -s -o /dev/null --max-time 60 "$URL/v1.0/exports/$ID/fichier" &
curl_pid=$!
for i in $(seq 100); do # bounded wait for the second trickle to be under way
    [ "$(grep -c 'fault trickle@200 injected' "$T/server.log")" -ge 2 ] && break
    sleep 0.05
done
t0=$(now_ms)
stop_server
t1=$(now_ms)
check "a stop during a trickle: clean (exit 0)" 0 "$SRV_RC"
check "a stop during a trickle: within 5 s" 1 "$(( t1 - t0 < 5000 ? 1 : 0 ))"
wait "$curl_pid" 2>/dev/null
check "the trickle was cut by the stop (curl 18)" 18 "$?"

# --- bad plans are refused at start
for spec in "post" "post:cut@5" "file:cut" "export:503" "status:200" "nowhere:503" \
    "post:503*0" "post:503*x" "export:slow" "file:notgzip@3" "post:longer" "status:shorter" \
    "file:shorter@x" "export:trickle" "export:html" "status:html@2"; do
    "$EXE" serve --data "$T/data" --port 0 --faults "$spec" >/dev/null 2>"$T/bad.log"
    check "bad fault spec '$spec': exit 2" 2 "$?"
done
finish
