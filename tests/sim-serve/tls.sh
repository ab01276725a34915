#!/usr/bin/env bash
# tls.sh EXE: HTTPS with a test CA made here with openssl: server certificate, TLS 1.2 and 1.3
# accepted, TLS 1.1 refused, plain HTTP refused; with --tls-client-ca a client certificate is
# required and verified (none, or one from another CA: the connection is refused), its CN is the
# guichet (one export in progress per guichet); TLS combined with a bearer token.
. "$(dirname "$0")/lib.sh"

P=$T/pki
mkdir -p "$P"
mkcert() { # NAME SUBJECT_CN ISSUER(or self) [EXTFILE]
    local name=$1 cn=$2 issuer=$3 ext=${4:-}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$name.key" \
        -out "$P/$name.csr" -subj "/CN=$cn" 2>>"$P/log" || return 1
    if [ "$issuer" = self ]; then
        openssl x509 -req -in "$P/$name.csr" -signkey "$P/$name.key" -out "$P/$name.pem" \
            -days 2 -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n') \
            2>>"$P/log"
    else
        openssl x509 -req -in "$P/$name.csr" -CA "$P/$issuer.pem" -CAkey "$P/$issuer.key" \
            -CAcreateserial -out "$P/$name.pem" -days 2 ${ext:+-extfile "$ext"} 2>>"$P/log"
    fi
}
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$P/srv.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$P/cli.ext"
mkcert ca "snesync test CA" self &&
    mkcert srv localhost ca "$P/srv.ext" &&
    mkcert g1111 G1111 ca "$P/cli.ext" &&
    mkcert g2222 G2222 ca "$P/cli.ext" &&
    mkcert rogueca "rogue CA" self &&
    mkcert rogue G1111 rogueca "$P/cli.ext"
check "test PKI made with openssl" 0 "$?"

make_data "$T/data"
TLS=(--tls-cert "$P/srv.pem" --tls-key "$P/srv.key")

# --- server certificate only
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 "${TLS[@]}" || finish
check_match "readiness line says https" '^https://127\.0\.0\.1:[0-9]+$' "$URL"
CURL_BASE=(-sS --max-time 30 --cacert "$P/ca.pem")
req GET /v1.0/exports/X1
check "HTTPS request: 404 from the API" 404 "$CODE"
req GET /v1.0/exports/X1 --tlsv1.2 --tls-max 1.2
check "TLS 1.2 accepted" 404 "$CODE"
req GET /v1.0/exports/X1 --tlsv1.3
check "TLS 1.3 accepted" 404 "$CODE"
req GET /v1.0/exports/X1 --tlsv1.1 --tls-max 1.1
check "TLS 1.1 refused by curl (no HTTP answer)" 000 "$CODE"
HOSTPORT=${URL#https://}
# openssl at security level 0 offers TLS 1.1 for real: the server must refuse it.
echo | openssl s_client -connect "$HOSTPORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
    -CAfile "$P/ca.pem" >"$T/s11" 2>&1
check "TLS 1.1 handshake refused by the server" 1 "$(grep -Eq 'Cipher is \(NONE\)|no protocols available|alert' "$T/s11" && echo 1)"
echo | openssl s_client -connect "$HOSTPORT" -tls1_2 -CAfile "$P/ca.pem" >"$T/s12" 2>&1
check "TLS 1.2 handshake by openssl (control)" 1 "$(grep -Eq 'Protocol *: TLSv1.2' "$T/s12" && grep -q 'Verify return code: 0' "$T/s12" && echo 1)"
CODE=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$HOSTPORT/v1.0/exports/X1" 2>/dev/null)
check "plain HTTP on the TLS port gets no API answer" 1 "$([ "$CODE" != 404 ] && echo 1)"
new_export
wait_state "$ID" TERMINE ECHEC
SHA=$(jfield sha256)
req GET "/v1.0/exports/$ID/fichier" -o "$T/a.tgz"
check "download over TLS" "$SHA" "$(sha256sum "$T/a.tgz" | cut -d' ' -f1)"
req GET "/v1.0/exports/$ID/fichier" -r 100- -o "$T/b"
check "Range over TLS: 206" 206 "$CODE"
stop_server
check "clean stop (TLS)" 0 "$SRV_RC"

# --- client certificates required
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 "${TLS[@]}" \
    --tls-client-ca "$P/ca.pem" || finish
G1=(--cert "$P/g1111.pem" --key "$P/g1111.key")
G2=(--cert "$P/g2222.pem" --key "$P/g2222.key")
req GET /v1.0/exports/X1 "${G1[@]}"
check "with a valid client certificate" 404 "$CODE"
req GET /v1.0/exports/X1
check "without a client certificate: refused" 000 "$CODE"
check "  (curl failed)" 1 "$([ "$CURL_RC" -ne 0 ] && echo 1)"
req GET /v1.0/exports/X1 --cert "$P/rogue.pem" --key "$P/rogue.key"
check "with a certificate from another CA: refused" 000 "$CODE"
req GET /v1.0/exports/X1 --tlsv1.2 --tls-max 1.2 "${G1[@]}"
check "client certificate over TLS 1.2" 404 "$CODE"
req GET /v1.0/exports/X1 --tlsv1.2 --tls-max 1.2
check "no client certificate over TLS 1.2: refused" 000 "$CODE"

# the CN is the guichet: one export in progress per guichet
stop_server
start_server --data "$T/data" --port 0 --retry-after 1 --min-poll 0 "${TLS[@]}" \
    --tls-client-ca "$P/ca.pem" --generation-seconds 60 || finish
new_export "${G1[@]}"
check "G1111 POST: 202" 202 "$CODE"
ID1=$ID
new_export "${G1[@]}"
check "G1111 second POST while in progress: 429" 429 "$CODE"
new_export "${G2[@]}"
check "G2222 POST meanwhile: 202" 202 "$CODE"
req DELETE "/v1.0/exports/$ID1" "${G1[@]}"
check "G1111 DELETE: 204" 204 "$CODE"
stop_server
check "clean stop (mTLS)" 0 "$SRV_RC"

# --- TLS, client certificate and bearer token together
printf 'tok-%s\n' "$RANDOM" >"$T/token"
start_server --data "$T/data" --port 0 "${TLS[@]}" --tls-client-ca "$P/ca.pem" \
    --token-file "$T/token" || finish
req GET /v1.0/exports/X1 "${G1[@]}"
check "certificate without the token: 401" 401 "$CODE"
req GET /v1.0/exports/X1 "${G1[@]}" -H "Authorization: Bearer $(cat "$T/token")"
check "certificate and token" 404 "$CODE"
stop_server

# --- TLS misconfiguration is refused at start
"$EXE" serve --data "$T/data" --port 0 --tls-cert "$P/srv.pem" >/dev/null 2>&1
check "--tls-cert without --tls-key: exit 2" 2 "$?"
"$EXE" serve --data "$T/data" --port 0 --tls-client-ca "$P/ca.pem" >/dev/null 2>&1
check "--tls-client-ca without a server certificate: exit 2" 2 "$?"
finish
