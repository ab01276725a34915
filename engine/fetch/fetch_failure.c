/* fetch_failure.c: a failed attempt in words (fetch_internal.h): curl's own explanation, a
 * hint at the option that fixes a TLS set-up, whether retrying may cure it, and the server's
 * problem+json detail of a refusal. Messages never hold the token. */
#include "fetch_internal.h"

#include "../common/format.h"

#include <stdio.h>
#include <string.h>

/* Transport failures that retrying cannot cure: our own set-up (TLS ones: tls_hint()). */
static bool curl_final(CURLcode c)
{
    switch (c) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_LOGIN_DENIED:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_OUT_OF_MEMORY:
        return true;
    default:
        return false;
    }
}

#define HINT_NO_CLIENT_CERT "the server requires a client certificate: give --cert and --key"

/* A hint at the options that fix a TLS failure, and in *final whether retrying cannot cure it;
 * NULL for any other failure. A connection lost during or just after the handshake, before any
 * HTTP answer, is final when the server said why in an alert, or when it asked for a client
 * certificate and we have none (a server may then close without a word). When we gave one, the
 * same silence may be a refusal of it or an overloaded server: retried, with the hint. */
static const char *tls_hint(const sne_fetch *f, CURLcode cc, bool *final)
{
    *final = true;
    switch (cc) {
    case CURLE_SSL_CERTPROBLEM:
        return "the client certificate or key does not load: check --cert and --key (readable "
               "PEM files, the key of that certificate, without a passphrase)";
    case CURLE_SSL_CACERT_BADFILE:
        return "the CA certificates do not load: check --cacert (a readable PEM file)";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "the server's certificate does not verify: check --cacert (the CA that signs "
               "it) and the host name in --server";
    case CURLE_SSL_CIPHER:
        return "the server offers no TLS cipher this client accepts";
    case CURLE_SSL_CLIENTCERT:
        return HINT_NO_CLIENT_CERT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        break;
    default:
        *final = false;
        return NULL;
    }
    switch (sne_tls_refusal_of(f->tls.alert)) {
    case SNE_TLS_CERTIFICATE:
        return f->o.cert ? "the server refused the client certificate: check --cert and --key "
                           "(signed by a CA the server trusts, not expired)"
                         : HINT_NO_CLIENT_CERT;
    case SNE_TLS_PARAMETERS:
        return "the server refused the TLS handshake: check --cert and --key (it may require a "
               "client certificate) and the TLS versions it accepts (1.2 or later here)";
    case SNE_TLS_NO_REFUSAL:
        break;
    }
    *final = f->tls.cert_requested && !f->o.cert;
    if (!f->tls.cert_requested)
        return NULL;
    return *final ? HINT_NO_CLIENT_CERT
                  : "the server asked for a client certificate: if it refuses this one, check "
                    "--cert and --key (signed by a CA the server trusts, not expired)";
}

bool sne_fetch_dns_failure(CURLcode cc)
{
    return cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* curl's own explanation, with its code as git prints it ("... (curl error 60)"). The error
 * buffer names the file, the host, the certificate problem; it holds the first complaint of the
 * transfer, which is not always the one that ended it (a connection the server dropped may
 * leave "getpeername() failed"), hence the code. Control characters become spaces. */
void sne_fetch_curl_text(CURLcode cc, const char *buffer, char *out, size_t cap)
{
    char b[CURL_ERROR_SIZE];
    snprintf(b, sizeof(b), "%s", buffer[0] ? buffer : curl_easy_strerror(cc));
    size_t n = strlen(b);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
        b[--n] = '\0';
    for (char *p = b; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    snprintf(out, cap, "%s (curl error %d)", b, (int)cc);
}

/* A request that got no HTTP answer: curl's explanation, a hint at what to fix, and whether a
 * retry may cure it. */
sne_fetch_outcome sne_fetch_transport_failure(const sne_fetch *f, const char *what, CURLcode cc,
                                              const char *text, char *why, size_t whylen)
{
    bool final;
    const char *hint = tls_hint(f, cc, &final);
    final = final || curl_final(cc);
    if (sne_fetch_dns_failure(cc))
        hint = "check the host name in --server and the DNS resolver";
    if (!sne_format(why, whylen, "%s: %s%s%s", what, text, hint ? "; " : "", hint ? hint : ""))
        sne_format_mark_cut(why, whylen);
    return final ? SNE_FETCH_FINAL : SNE_FETCH_RETRY;
}

static const char *reason(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

/* The server's problem detail, or its title, or nothing. */
static void problem_text(const sne_fetch_attempt *a, char *out, size_t cap)
{
    sne_problem pb;
    out[0] = '\0';
    if (a->body_over || a->body.len == 0)
        return;
    if (sne_problem_parse((const char *)a->body.data, a->body.len, &pb, NULL) != SNE_OK)
        return;
    snprintf(out, cap, "%s", pb.detail[0] ? pb.detail : pb.title);
}

void sne_fetch_refusal_text(const char *what, const sne_fetch_attempt *a, char *why, size_t whylen)
{
    char detail[300];
    long st = a->status;
    const char *phrase = reason(st);
    problem_text(a, detail, sizeof(detail));
    snprintf(why, whylen, "%s: HTTP %ld%s%s%s%s", what, st, phrase[0] ? " " : "", phrase,
             detail[0] ? ": " : "", detail);
}
