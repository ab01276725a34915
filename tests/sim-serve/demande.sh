#!/usr/bin/env bash
# demande.sh EXE: the unit read GET /v1.0/demandes/{numUnique}?entites=... (contract section 7):
# one demand's export document, valid against the XSD, whose demande element is byte for byte the
# one a full export of the same register holds; its entete (numeroExport D+num, dateExport,
# perimetre with the demand's own etat, one part, nombreDemandes 1); 404, the 400s; at most 4
# reads at once per guichet (429); the faults at point demande (503, 429 with Retry-After, cut,
# delay) and gdm:cut.
. "$(dirname "$0")/lib.sh"

XSD=$(cd "$(dirname "$0")/../../schema" && pwd)/export.xsd
D=$T/data
make_data "$D"
"$EXE" export --data "$D" --out "$T/all.tar.gz" --entities ALL --etat ACTIVE >/dev/null 2>&1
"$EXE" export --data "$D" --out "$T/rad.tar.gz" --entities CERFA,EVT --etat RADIEE >/dev/null 2>&1
tar -xzOf "$T/all.tar.gz" >"$T/all.xml"
tar -xzOf "$T/rad.tar.gz" >"$T/rad.xml"
ACTIVE=$(grep -o '<ns1:numUnique>[0-9A-Z]*' "$T/all.xml" | sed -n '5s/.*>//p')
RADIEE=$(grep -o '<ns1:numUnique>[0-9A-Z]*' "$T/rad.xml" | sed -n '1s/.*>//p')
DATE=$(grep -o '<ns1:dateExport>[^<]*' "$T/all.xml" | head -n 1 | sed 's/.*>//')
[ -n "$ACTIVE" ] && [ -n "$RADIEE" ] || { not_ok "test data: an ACTIVE and a RADIEE demand"; finish; }

# demande_of FILE NUM: the demande element of NUM in FILE (an export document), as written.
demande_of() {
    awk -v n="<ns1:numUnique>$2</ns1:numUnique>" '
        /<ns1:demande>/ { buf = ""; keep = 1 }
        keep { buf = buf $0 "\n" }
        index($0, n) { hit = 1 }
        /<\/ns1:demande>/ { if (hit) { printf "%s", buf; exit } keep = 0 }' "$1"
}

start_server --data "$D" --port 0 || finish

all_entities="entites=CERFA&entites=DALO&entites=EVT&entites=CONT&entites=ATTRIB&entites=PRIO&entites=COTA&entites=PJ&entites=DRM"
req GET "/v1.0/demandes/$ACTIVE?$all_entities"
check "read: 200" 200 "$CODE"
check "read: application/xml" "application/xml; charset=UTF-8" "$(header Content-Type)"
printf '%s\n' "$BODY" >"$T/one.xml"
check "read: valid against export.xsd" 0 "$(xmllint --noout --nonet --schema "$XSD" "$T/one.xml" >/dev/null 2>&1; echo $?)"
check "read: numeroExport D+numUnique" "D$ACTIVE" "$(grep -o '<ns1:numeroExport>[^<]*' "$T/one.xml" | sed 's/.*>//')"
check "read: dateExport the register's instant" "$DATE" "$(grep -o '<ns1:dateExport>[^<]*' "$T/one.xml" | sed 's/.*>//')"
check "read: one part, one demand" "1 1 1" "$(grep -o '<ns1:\(partie\|nombreParties\|nombreDemandes\)>[0-9]*' "$T/one.xml" | sed 's/.*>//' | tr '\n' ' ' | sed 's/ $//')"
check "read: the demande element of a full export, byte for byte" \
    "$(demande_of "$T/all.xml" "$ACTIVE" | sha256sum)" "$(demande_of "$T/one.xml" "$ACTIVE" | sha256sum)"

req GET "/v1.0/demandes/$RADIEE?entites=CERFA,EVT"
printf '%s\n' "$BODY" >"$T/rad1.xml"
check "RADIEE read: 200 (comma-separated entites)" 200 "$CODE"
check "RADIEE read: perimetre etatDemande RADIEE" 1 "$(grep -c '<ns1:etatDemande>RADIEE</ns1:etatDemande>' "$T/rad1.xml" | awk '{print ($1 >= 2)}')"
check "RADIEE read: only the entities asked for, as in a RADIEE export" \
    "$(demande_of "$T/rad.xml" "$RADIEE" | sha256sum)" "$(demande_of "$T/rad1.xml" "$RADIEE" | sha256sum)"

req GET "/v1.0/demandes/0000000000000X0000?entites=CERFA"
check "unknown numUnique: 404" 404 "$CODE"
check "  problem+json" application/problem+json "$(header Content-Type)"
for q in "" "entites=FOO" "entites=CERFA&x=1" "entites=CERFA&profondeurDrm=4" "entites=CERFA,"; do
    req GET "/v1.0/demandes/$ACTIVE?$q"
    check "400 for query '$q'" 400 "$CODE"
done
req GET "/v1.0/demandes/abc?entites=CERFA"
check "400 for a malformed numUnique" 400 "$CODE"
req DELETE "/v1.0/demandes/$ACTIVE?entites=CERFA"
check "DELETE: 405" 405 "$CODE"

# the faults, one read each in plan order (+N lets the reads before pass), then 4 delayed reads
stop_server
start_server --data "$D" --port 0 --faults \
    "demande:503@2,demande:429@3+1,demande:cut@100+2,gdm:cut@20,demande:delay@3000*4+3" || finish
req GET "/v1.0/demandes/$ACTIVE?entites=CERFA"
check "fault demande:503@2" "503 2" "$CODE $(header Retry-After)"
req GET "/v1.0/demandes/$ACTIVE?entites=CERFA"
check "fault demande:429@3" "429 3" "$CODE $(header Retry-After)"
req GET "/v1.0/demandes/$ACTIVE?entites=CERFA"
check "fault demande:cut@100: curl sees a transfer cut short (18)" 18 "$CURL_RC"
req GET "/v1.0/demandes/mouvements?depuis=2026-10-30T00:00:00Z"
check "fault gdm:cut@20: curl sees a page cut short (18)" 18 "$CURL_RC"

# five reads at once, each held 3 s by the delay fault: the fifth gets 429 at once
pids=
for i in 1 2 3 4 5; do
    curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' \
        "$URL/v1.0/demandes/$ACTIVE?entites=CERFA" >"$T/par.$i" 2>/dev/null &
    pids="$pids $!"
done
wait $pids
check "5 concurrent reads: 4 answered, 1 refused with 429" "200 200 200 200 429" \
    "$(cat "$T"/par.* | sort | tr '\n' ' ' | sed 's/ $//')"
req GET "/v1.0/demandes/$ACTIVE?entites=CERFA"
check "the slots are given back" 200 "$CODE"
check "the log names no personal data, only the path and status" 1 \
    "$(grep -q "GET /v1.0/demandes/$ACTIVE -> 200" "$T/server.log" && echo 1)"
finish
