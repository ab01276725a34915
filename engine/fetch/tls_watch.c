/* tls_watch.c: OpenSSL's message callback on libcurl's connections (tls_watch.h). */
#include "tls_watch.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t backend_once = PTHREAD_ONCE_INIT;
static bool backend_is_ours;

/* libcurl's ssl_version reads "OpenSSL/3.0.13" (a multi-backend build puts the inactive ones in
 * parentheses after the active one). The same major version as the libssl linked here is the
 * same library in this process: the SSL_CTX libcurl hands over is one we may touch. */
static void check_backend(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    char want[32];
    snprintf(want, sizeof(want), "OpenSSL/%lu.", (unsigned long)(OpenSSL_version_num() >> 28));
    backend_is_ours = v && v->ssl_version && strncmp(v->ssl_version, want, strlen(want)) == 0;
}

void sne_tls_seen_reset(sne_tls_seen *s)
{
    s->cert_requested = false;
    s->alert = -1;
}

static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    sne_tls_seen *s = arg;
    const unsigned char *b = buf;
    (void)version;
    (void)ssl;
    if (write_p || len == 0)
        return; /* only what the server sent */
    if (content_type == SSL3_RT_HANDSHAKE && b[0] == SSL3_MT_CERTIFICATE_REQUEST)
        s->cert_requested = true;
    else if (content_type == SSL3_RT_ALERT && len == 2 && s->alert < 0 &&
             b[1] != SSL3_AD_CLOSE_NOTIFY && b[1] != TLS1_AD_USER_CANCELLED)
        s->alert = b[1];
}

static CURLcode on_ssl_ctx(CURL *h, void *ssl_ctx, void *arg)
{
    (void)h;
    SSL_CTX_set_msg_callback(ssl_ctx, on_message);
    SSL_CTX_set_msg_callback_arg(ssl_ctx, arg);
    return CURLE_OK;
}

bool sne_tls_watch(CURL *h, sne_tls_seen *seen)
{
    pthread_once(&backend_once, check_backend);
    if (!backend_is_ours)
        return false;
    if (curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, seen) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK) {
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, NULL);
        return false;
    }
    return true;
}

sne_tls_refusal sne_tls_refusal_of(int alert)
{
    switch (alert) {
    case SSL3_AD_BAD_CERTIFICATE:
    case SSL3_AD_UNSUPPORTED_CERTIFICATE:
    case SSL3_AD_CERTIFICATE_REVOKED:
    case SSL3_AD_CERTIFICATE_EXPIRED:
    case SSL3_AD_CERTIFICATE_UNKNOWN:
    case TLS1_AD_UNKNOWN_CA:
    case TLS1_AD_ACCESS_DENIED:
    case TLS13_AD_CERTIFICATE_REQUIRED:
        return SNE_TLS_CERTIFICATE;
    case SSL3_AD_HANDSHAKE_FAILURE:
    case TLS1_AD_PROTOCOL_VERSION:
    case TLS1_AD_INSUFFICIENT_SECURITY:
        return SNE_TLS_PARAMETERS;
    default:
        return SNE_TLS_NO_REFUSAL;
    }
}
