/* tls_watch.h: what the TLS handshake of a request showed that libcurl does not report: whether
 * the server asked for a client certificate, and the alert it closed the connection with.
 *
 * fetch_failure.c needs both to tell a refused handshake (final: the client certificate is
 * missing or refused, no common TLS version) from a server that dropped the connection
 * (transient). A server that requires a client certificate and gets none may close the
 * connection without a word (libcurl then says "Empty reply from server", as for an overloaded
 * server); only the handshake shows that it asked for one.
 *
 * They are read by OpenSSL's message callback, which CURLOPT_SSL_CTX_FUNCTION installs on each
 * new connection's SSL_CTX. That is done only when libcurl's TLS backend is OpenSSL of the major
 * version this program is linked with (the callback is handed the backend's own SSL_CTX); with
 * another backend nothing is watched, and the caller's decision rests on the CURLcode alone.
 *
 *     sne_tls_seen seen;               // in the struct that owns the easy handle
 *     sne_tls_seen_reset(&seen);       // before each transfer
 *     sne_tls_watch(curl, &seen);      // after curl_easy_reset(), before curl_easy_perform()
 *     ... if (seen.cert_requested) ...
 */
#ifndef SNE_TLS_WATCH_H
#define SNE_TLS_WATCH_H

#include <curl/curl.h>
#include <stdbool.h>

typedef struct sne_tls_seen {
    bool cert_requested; /* a CertificateRequest was received */
    int alert;           /* the first alert received other than close_notify, or -1 */
} sne_tls_seen;

void sne_tls_seen_reset(sne_tls_seen *s);

/* Watches the handshakes of the next transfers of `h` (curl_easy_reset() stops it). `seen` is
 * borrowed: it is written during curl_easy_perform() and also by a kept-alive connection that
 * receives a message during a later transfer, so it must live as long as the handle itself.
 * Returns false (and changes nothing) when the TLS backend cannot be watched. */
bool sne_tls_watch(CURL *h, sne_tls_seen *seen);

/* What a received alert says about retrying. */
typedef enum sne_tls_refusal {
    SNE_TLS_NO_REFUSAL,  /* no alert, or one a retry may cure (internal_error, ...) */
    SNE_TLS_CERTIFICATE, /* the client certificate is missing or refused: bad, unsupported,
                            revoked, expired, unknown, unknown CA, required, access denied */
    SNE_TLS_PARAMETERS,  /* no common parameters: handshake_failure (also a missing client
                            certificate in TLS 1.2), protocol_version, insufficient_security */
} sne_tls_refusal;

sne_tls_refusal sne_tls_refusal_of(int alert);

#endif
