#!/usr/bin/env bash
# tls.sh SNESYNC SIM: sync over HTTPS with a client certificate (mutual TLS) and a bearer token,
# against a test PKI made here with openssl. The token comes from a file or $SNESYNC_TOKEN and
# never shows in messages or files, and never goes over plain http to another machine (exit 2).
# A wrong token, no client certificate, a server certificate from another CA, or a key that does
# not load stop the run at once (well under 5 s, no retries) with exit 7, curl's explanation and
# the option to fix.
DEMANDS=${SYNC_TEST_DEMANDS:-500}
. "$(dirname "$0")/lib.sh"

P=$T/pki
mkdir -p "$P"
mkcert() { # NAME CN ISSUER|self [EXTFILE]
    local name=$1 cn=$2 issuer=$3 ext=${4:-}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$name.key" \
        -out "$P/$name.csr" -subj "/CN=$cn" 2>>"$P/log" || return 1
    if [ "$issuer" = self ]; then
        openssl x509 -req -in "$P/$name.csr" -signkey "$P/$name.key" -out "$P/$name.pem" -days 2 \
            -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n') \
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
    mkcert g1 G1111 ca "$P/cli.ext" &&
    mkcert rogueca "rogue CA" self
check "test PKI made with openssl" 0 "$?"
chmod 600 "$P"/*.key

TOKEN=tok-$RANDOM-$RANDOM-secret
printf '%s\n' "$TOKEN" >"$T/server.token"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
printf 'wrong-%s\n' "$TOKEN" >"$T/bad.token"
chmod 600 "$T/bad.token"

make_registers
start_server "$T/r1" --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-ca "$P/ca.pem" \
    --token-file "$T/server.token" || finish
check_match "the server speaks HTTPS" '^https://127\.0\.0\.1:' "$URL"
MTLS=(--cert "$P/g1.pem" --key "$P/g1.key" --cacert "$P/ca.pem")

sync_all "$T/s" "${MTLS[@]}" --token-file "$T/token"
check "mTLS + token file: exit 0" 0 "$RC"
check_match "mTLS + token file: demands ingested" '^[1-9]' "$(jfield demands)"

SNESYNC_TOKEN=$TOKEN sync_all "$T/s" "${MTLS[@]}"
check "mTLS + \$SNESYNC_TOKEN: exit 0" 0 "$RC"
check "mTLS + \$SNESYNC_TOKEN: nothing changed" 0 "$(jfield creates)"

posts=$(count_log 'POST /v1.0/exports')
sync_all "$T/s2" "${MTLS[@]}" --token-file "$T/bad.token"
check "wrong token: exit 7" 7 "$RC"
echo "# $ERR"
check_match "wrong token: the server's answer is given" 'HTTP 401' "$ERR"
check "wrong token: final at once (one POST)" $((posts + 1)) "$(count_log 'POST /v1.0/exports')"
sync_all "$T/s2" "${MTLS[@]}" --retries 0
check "no token at all: exit 7" 7 "$RC"

# tls_refused NAME CURL_TEXT HINT ARGS...: a TLS set-up that cannot work is final: exit 7 at
# once (the default 7 retries would take about 2 minutes), curl's explanation and the hint.
tls_refused() {
    local name=$1 curl_text=$2 hint=$3 t0=$EPOCHREALTIME
    shift 3
    sync_all "$@" --token-file "$T/token"
    local ms
    ms=$(ms_since "$t0")
    echo "# $ERR"
    check "$name: exit 7" 7 "$RC"
    check "$name: final at once (under 5 s, took $ms ms)" 1 "$([ "$ms" -lt 5000 ] && echo 1)"
    check_match "$name: curl's explanation" "POST /exports: ($curl_text)" "$ERR"
    check_match "$name: the hint" "$hint" "$ERR"
}
tls_refused "no client certificate" '.+ \(curl error (35|52|55|56)\)' \
    'the server requires a client certificate: give --cert and --key' "$T/s3" --cacert "$P/ca.pem"
tls_refused "server certificate from another CA" \
    'SSL certificate problem: unable to get local issuer certificate' \
    "the server's certificate does not verify: check --cacert" \
    "$T/s4" --cert "$P/g1.pem" --key "$P/g1.key" --cacert "$P/rogueca.pem"
printf 'not a key\n' >"$P/junk.key"
tls_refused "a key that does not load" "unable to set private key file: '$P/junk.key'" \
    'the client certificate or key does not load: check --cert and --key' \
    "$T/s6" --cert "$P/g1.pem" --key "$P/junk.key" --cacert "$P/ca.pem"
tls_refused "a certificate that does not load" "could not load PEM client certificate from $P/none.pem" \
    'check --cert and --key' "$T/s6" --cert "$P/none.pem" --key "$P/g1.key" --cacert "$P/ca.pem"

# A client certificate from a CA the server does not trust: this server closes the connection
# without an alert, as an overloaded one might: retried, with a hint.
sync_all "$T/s7" --cert "$P/rogueca.pem" --key "$P/rogueca.key" --cacert "$P/ca.pem" \
    --token-file "$T/token" --retries 1
check "client certificate from another CA: exit 7" 7 "$RC"
check_match "client certificate from another CA: hint" \
    'asked for a client certificate: if it refuses this one, check --cert and --key.*after 2 attempts' "$ERR"

# The token never crosses the network in clear: plain http to another host is refused before
# anything is sent or created (127.0.0.1 is loopback, so the test names another address).
sync_all "$T/s8" --token-file "$T/token" --server "http://192.0.2.1:${URL##*:}"
check "token over plain http to another host: exit 2" 2 "$RC"
check_match "token over plain http to another host: says why and what to do" \
    'would cross the network in clear \(plain http to 192\.0\.2\.1\): use an https:// URL in --server' "$ERR"
check "token over plain http to another host: no store created" 0 "$(ls -d "$T/s8"* 2>/dev/null | wc -l)"

sync_all "$T/s5" "${MTLS[@]}" --token-file "$T/token" --server "${URL/https:/http:}" --retries 1
check "plain HTTP to the TLS port: exit 7" 7 "$RC"
echo "# $ERR"

# The token is in no message, no file the runs left, and no note of the store.
leaks=$(grep -rl -- "$TOKEN" "$T/out" "$T/err" "$T/s" "$T/s.work" "$T"/s[0-9]* 2>/dev/null | wc -l)
check "the token leaks nowhere (output, stores, work files)" 0 "$leaks"
check "the token file's content is never echoed" 0 "$(grep -c -- "$TOKEN" "$T/err")"

# The token file readable by others: a warning (the run still works).
chmod 644 "$T/token"
sync_all "$T/s" "${MTLS[@]}" --token-file "$T/token"
check "token file readable by others: exit 0" 0 "$RC"
check_match "token file readable by others: warned" 'readable by other users' "$ERR"

finish
