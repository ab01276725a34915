/* fetch.c: the export service's HTTP client (fetch.h): one curl easy handle, a retry loop, and
 * the per-attempt bookkeeping of headers, JSON bodies and resumable downloads. */
#include "fetch.h"
#include "../common/format.h"
#include "../model/model.h"
#include "tls_watch.h"

#include "../common/buffer.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define URL_MAX   2048
#define JSON_MAX  SNE_JSON_MAX_INPUT
#define HDR_VALUE 256
/* A host name that does not resolve: the system's resolver has already retried (resolv.conf's
 * attempts and timeout), so what is left is mostly a typo or a missing DNS entry, sometimes a
 * resolver restarting. Three attempts (about 3 s with the default backoff) absorb the latter
 * without waiting minutes on the former. */
#define DNS_ATTEMPTS 3u

struct sne_fetch {
    sne_fetch_options o;
    sne_fetch_clock clock;
    CURL *curl;
    char api[URL_MAX];    /* scheme://host:port/prefix/v1.0 */
    char origin[URL_MAX]; /* scheme://host:port */
    atomic_bool cancel;
    uint64_t rng;
    sne_fetch_stats stats;
    sne_tls_seen tls; /* the last request's handshake; outlives curl's kept-alive connections */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- clock ------------------------------------------------------------------------------- */

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sne_fetch_now(sne_fetch *f)
{
    return f->clock.now ? f->clock.now(f->clock.ctx) : real_now();
}

bool sne_fetch_cancelled(const sne_fetch *f)
{
    return atomic_load(&((sne_fetch *)f)->cancel);
}

void sne_fetch_wait(sne_fetch *f, double seconds)
{
    if (seconds <= 0)
        return;
    if (f->clock.sleep) {
        f->clock.sleep(f->clock.ctx, seconds);
        return;
    }
    /* In slices, so that a cancel from another thread is noticed within 50 ms. */
    double until = real_now() + seconds;
    for (;;) {
        if (atomic_load(&f->cancel))
            return;
        double left = until - real_now();
        if (left <= 0)
            return;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static uint64_t next_random(sne_fetch *f)
{
    if (f->clock.random)
        return f->clock.random(f->clock.ctx);
    /* xorshift64*: the jitter only needs to spread clients apart. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 0x2545F4914F6CDD1DULL;
}

double sne_fetch_backoff(unsigned attempt, double base, double cap, uint64_t rnd)
{
    if (attempt == 0)
        return 0;
    double d = base;
    for (unsigned i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    double u = (double)(rnd >> 11) / 9007199254740992.0; /* [0, 1) */
    return d / 2 + u * d / 2;
}

double sne_fetch_parse_retry_after(const char *v, double now_wall)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        double s = 0;
        while (*v >= '0' && *v <= '9') {
            s = s * 10 + (*v - '0');
            if (s > 1e9)
                return -1;
            v++;
        }
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        return *v ? -1 : s;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    double d = (double)t - now_wall;
    return d > 0 ? d : 0;
}

/* --- set-up ------------------------------------------------------------------------------- */

void sne_fetch_options_default(sne_fetch_options *o)
{
    memset(o, 0, sizeof(*o));
}

void sne_fetch_cancel(sne_fetch *f)
{
    if (f)
        atomic_store(&f->cancel, true);
}

void sne_fetch_reset_cancel(sne_fetch *f)
{
    if (f)
        atomic_store(&f->cancel, false);
}

const sne_fetch_stats *sne_fetch_last_stats(const sne_fetch *f)
{
    return &f->stats;
}

/* Checks the server URL and derives its origin and API base (URL_MAX bytes each). */
static sne_err split_server(const char *server, char *origin, char *api, sne_error *err)
{
    size_t n = server ? strlen(server) : 0;
    const char *scheme_end = server ? strstr(server, "://") : NULL;
    if (n == 0 || n > URL_MAX - 128 || !scheme_end ||
        !((scheme_end - server == 4 && strncasecmp(server, "http", 4) == 0) ||
          (scheme_end - server == 5 && strncasecmp(server, "https", 5) == 0)))
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "the server must be an http:// or https:// URL");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)server[i] <= ' ' || server[i] == 0x7f || server[i] == '?' ||
            server[i] == '#')
            return sne_error_set(err, SNE_ERR_USAGE, 0,
                                 "the server URL holds a space, control character, '?' or '#'");
    const char *host = scheme_end + 3;
    size_t host_at = (size_t)(host - server);
    while (n > host_at && server[n - 1] == '/')
        n--;
    if (n <= host_at || *host == '/')
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the server URL has no host");
    const char *slash = memchr(host, '/', n - (size_t)(host - server));
    size_t origin_len = slash ? (size_t)(slash - server) : n;
    if (origin_len == (size_t)(host - server))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the server URL has no host");
    snprintf(origin, URL_MAX, "%.*s", (int)origin_len, server);
    if (n >= 5 && strncmp(server + n - 5, "/v1.0", 5) == 0)
        snprintf(api, URL_MAX, "%.*s", (int)n, server);
    else
        snprintf(api, URL_MAX, "%.*s/v1.0", (int)n, server);
    return SNE_OK;
}

/* Whether `host`, as a URL spells it (a name, an IPv4 address, an IPv6 one in brackets), is
 * this machine: localhost, 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z). */
static bool loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char v6[INET6_ADDRSTRLEN];
    size_t n = strlen(host);
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(v6))
        return false;
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = '\0';
    if (inet_pton(AF_INET6, v6, &a6) != 1)
        return false;
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

/* A bearer token over plain http crosses the network in clear: allowed to this machine only.
 * The host is read by curl's URL parser, the one the request will follow (ours would take
 * "http://127.0.0.1@example.org/" for loopback). There is no override: a test lab can serve
 * https (snesync-sim serve --tls-cert) or do without a token. */
static sne_err check_token_transport(const char *server, sne_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    sne_err rc = SNE_OK;
    if (!u)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "the server URL does not parse");
    else if (strcasecmp(scheme, "https") != 0 && !loopback_host(host))
        rc = sne_error_set(err, SNE_ERR_USAGE, 0,
                           "the bearer token would cross the network in clear (plain http to "
                           "%.100s): use an https:// URL in --server (plain http is for this "
                           "machine only: localhost, 127.0.0.0/8, ::1)",
                           host);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

sne_err sne_fetch_check_options(const sne_fetch_options *o, sne_error *err)
{
    char origin[URL_MAX], api[URL_MAX];
    sne_err rc;
    pthread_once(&curl_once, init_curl); /* before curl's URL parser */
    if (curl_init_rc != CURLE_OK)
        return sne_error_set(err, SNE_ERR_NETWORK, (int)curl_init_rc, "cannot initialise curl");
    if (o->token)
        for (const char *p = o->token; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return sne_error_set(err, SNE_ERR_USAGE, 0,
                                     "the bearer token holds a control character");
    if ((o->cert == NULL) != (o->key == NULL) && o->key != NULL)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "a client key needs its certificate");
    if ((rc = split_server(o->server, origin, api, err)))
        return rc;
    return o->token ? check_token_transport(o->server, err) : SNE_OK;
}

sne_err sne_fetch_new(sne_fetch **out, const sne_fetch_options *o, sne_error *err)
{
    *out = NULL;
    sne_err rc = sne_fetch_check_options(o, err);
    if (rc)
        return rc;
    sne_fetch *f = calloc(1, sizeof(*f));
    if (!f)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    f->o = *o;
    if (o->clock)
        f->clock = *o->clock;
    if (!f->o.connect_timeout)
        f->o.connect_timeout = 30;
    if (!f->o.low_speed_time)
        f->o.low_speed_time = 60;
    if (!f->o.low_speed_limit)
        f->o.low_speed_limit = 1024;
    if (!f->o.request_timeout)
        f->o.request_timeout = 120;
    if (!f->o.max_attempts)
        f->o.max_attempts = 8;
    if (f->o.backoff_base <= 0)
        f->o.backoff_base = 1;
    if (f->o.backoff_cap <= 0)
        f->o.backoff_cap = 60;
    if (f->o.max_retry_after <= 0)
        f->o.max_retry_after = 3600;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    f->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    if (!f->rng)
        f->rng = 88172645463325252ULL;
    atomic_init(&f->cancel, false);
    rc = split_server(o->server, f->origin, f->api, err);
    if (!rc && !(f->curl = curl_easy_init()))
        rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot create a curl handle");
    if (rc) {
        sne_fetch_free(f);
        return rc;
    }
    *out = f;
    return SNE_OK;
}

void sne_fetch_free(sne_fetch *f)
{
    if (!f)
        return;
    if (f->curl)
        curl_easy_cleanup(f->curl);
    free(f);
}

/* --- one attempt -------------------------------------------------------------------------- */

typedef enum outcome {
    OUT_OK,
    OUT_RETRY, /* transient: wait and try again */
    OUT_FINAL, /* the server's final answer, or a local/TLS set-up problem */
    OUT_SINK,  /* the sink (or a consistency check) stopped the download */
} outcome;

/* A download in progress across attempts. */
typedef struct download {
    uint64_t next; /* absolute offset of the next byte the sink needs */
    uint64_t size;
    const char *sha256;
    sne_fetch_sink_fn sink;
    void *sink_ctx;
    /* per attempt */
    bool checked;     /* status and headers looked at (first body byte) */
    bool to_sink;     /* the body is the archive */
    uint64_t skip;    /* body bytes to drop first (a 200 answer to a Range request) */
    uint64_t pos;     /* absolute offset of the next body byte */
    uint64_t got;     /* bytes given to the sink in this attempt */
    bool not_archive; /* a body that is not the archive: retry */
    sne_err stop;     /* why the download was stopped from inside the write callback */
} download;

typedef struct attempt {
    sne_fetch *f;
    long status;
    char retry_after[HDR_VALUE];
    char content_type[HDR_VALUE];
    char etag[HDR_VALUE];
    char content_range[HDR_VALUE];
    sne_buf body; /* JSON body (or the error body of a download) */
    bool body_over;
    bool too_slow; /* stopped by the low-speed limit or the request timeout */
    download *dl;
    sne_error *err;
} attempt;

static void header_value(char *dst, const char *src, size_t n)
{
    while (n > 0 && (*src == ' ' || *src == '\t')) {
        src++;
        n--;
    }
    while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    if (n >= HDR_VALUE)
        n = HDR_VALUE - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    attempt *a = ud;
    size_t n = size * nitems;
    const char *v;
    size_t vn;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a 100, say) */
        a->retry_after[0] = a->content_type[0] = a->etag[0] = a->content_range[0] = '\0';
    } else if (header_is(line, n, "Retry-After", &v, &vn)) {
        header_value(a->retry_after, v, vn);
    } else if (header_is(line, n, "Content-Type", &v, &vn)) {
        header_value(a->content_type, v, vn);
    } else if (header_is(line, n, "ETag", &v, &vn)) {
        header_value(a->etag, v, vn);
    } else if (header_is(line, n, "Content-Range", &v, &vn)) {
        header_value(a->content_range, v, vn);
    }
    return n;
}

/* A JSON answer's type: none (the parser decides), application/json or any +json. */
static bool is_json_type(const char *ct)
{
    size_t n = strcspn(ct, "; ");
    return n == 0 || (n >= 4 && strncasecmp(ct + n - 4, "json", 4) == 0 &&
                      (n == 4 || ct[n - 5] == '/' || ct[n - 5] == '+'));
}

/* An export document's type: application/xml or text/xml, or any +xml. */
static bool is_xml_type(const char *ct)
{
    size_t n = strcspn(ct, "; ");
    return n >= 4 && strncasecmp(ct + n - 3, "xml", 3) == 0 &&
           (ct[n - 4] == '/' || ct[n - 4] == '+');
}

static bool is_archive_type(const char *ct)
{
    static const char *const ok[] = {"application/gzip",         "application/x-gzip",
                                     "application/octet-stream", "application/x-tar+gzip",
                                     "application/x-gtar",       "application/x-compressed-tar"};
    if (!ct[0])
        return true; /* no Content-Type: the gzip magic decides */
    size_t n = strcspn(ct, "; ");
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
            return true;
    return false;
}

static size_t keep_body(attempt *a, const char *data, size_t n)
{
    if (a->body_over)
        return n;
    if (sne_buf_append(&a->body, data, n) != SNE_OK)
        a->body_over = true; /* too large to be ours: parsed as absent, never grown */
    return n;
}

/* Parses "bytes A-B/T"; returns false when it is not that. */
static bool parse_content_range(const char *s, uint64_t *first, uint64_t *total)
{
    unsigned long long a, b, t;
    int used = 0;
    if (sscanf(s, "bytes %llu-%llu/%llu%n", &a, &b, &t, &used) != 3 || s[used] != '\0')
        return false;
    *first = a;
    *total = t;
    return b >= a;
}

/* The first body bytes of a download: is this the archive, from where we asked? */
static bool check_download(attempt *a)
{
    download *d = a->dl;
    d->checked = true;
    curl_easy_getinfo(a->f->curl, CURLINFO_RESPONSE_CODE, &a->status);
    if (a->status != 200 && a->status != 206)
        return true; /* an error body, kept for its problem detail */
    if (!is_archive_type(a->content_type)) {
        d->not_archive = true;
        return false;
    }
    if (d->sha256 && a->etag[0]) {
        char want[70];
        snprintf(want, sizeof(want), "\"%s\"", d->sha256);
        const char *e = strncmp(a->etag, "W/", 2) == 0 ? a->etag + 2 : a->etag;
        if (strcmp(e, want) != 0) {
            d->stop = sne_error_set(a->err, SNE_ERR_INCOMPLETE, 0,
                                    "the server's archive is not the one announced (ETag "
                                    "differs from the announced sha256)");
            return false;
        }
    }
    if (a->status == 206) {
        uint64_t first, total;
        if (!parse_content_range(a->content_range, &first, &total) || first != d->next ||
            total != d->size) {
            d->stop = sne_error_set(a->err, SNE_ERR_INCOMPLETE, 0,
                                    "the server answered another range than the one asked "
                                    "(Content-Range '%.80s')",
                                    a->content_range);
            return false;
        }
        d->pos = first;
        d->skip = 0;
    } else {
        d->pos = 0;
        d->skip = d->next; /* Range ignored: drop what we already have */
    }
    d->to_sink = true;
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    size_t n = size * nmemb;
    download *d = a->dl;
    if (!d)
        return keep_body(a, data, n);
    if (!d->checked && !check_download(a))
        return 0;
    if (!d->to_sink)
        return keep_body(a, data, n);
    const char *p = data;
    size_t left = n;
    if (d->skip > 0) {
        size_t k = d->skip < left ? (size_t)d->skip : left;
        /* the bytes dropped still say whether this is a gzip */
        for (size_t i = 0; i < k; i++, d->pos++)
            if (d->pos < 2 && (unsigned char)p[i] != (d->pos == 0 ? 0x1f : 0x8b)) {
                d->not_archive = true;
                return 0;
            }
        d->skip -= k;
        p += k;
        left -= k;
    }
    if (left == 0)
        return n;
    for (size_t i = 0; d->pos + i < 2 && i < left; i++)
        if ((unsigned char)p[i] != (d->pos + i == 0 ? 0x1f : 0x8b)) {
            d->not_archive = true;
            return 0;
        }
    if (d->pos + left > d->size) {
        d->stop = sne_error_set(a->err, SNE_ERR_INCOMPLETE, 0,
                                "the server sent more than the %llu bytes announced",
                                (unsigned long long)d->size);
        return 0;
    }
    sne_err rc = d->sink(d->sink_ctx, p, left);
    if (rc) {
        d->stop = rc;
        return 0;
    }
    d->pos += left;
    d->next = d->pos;
    d->got += left;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    attempt *a = ud;
    return atomic_load(&a->f->cancel) ? 1 : 0;
}

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

static bool dns_failure(CURLcode cc)
{
    return cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* curl's own explanation, with its code as git prints it ("... (curl error 60)"). The error
 * buffer names the file, the host, the certificate problem; it holds the first complaint of the
 * transfer, which is not always the one that ended it (a connection the server dropped may
 * leave "getpeername() failed"), hence the code. Control characters become spaces. */
static void curl_text(CURLcode cc, const char *buffer, char *out, size_t cap)
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
static outcome transport_failure(const sne_fetch *f, const char *what, CURLcode cc,
                                 const char *text, char *why, size_t whylen)
{
    bool final;
    const char *hint = tls_hint(f, cc, &final);
    final = final || curl_final(cc);
    if (dns_failure(cc))
        hint = "check the host name in --server and the DNS resolver";
    if (!sne_format(why, whylen, "%s: %s%s%s", what, text, hint ? "; " : "", hint ? hint : ""))
        sne_format_mark_cut(why, whylen);
    return final ? OUT_FINAL : OUT_RETRY;
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
static void problem_text(attempt *a, char *out, size_t cap)
{
    sne_problem pb;
    out[0] = '\0';
    if (a->body_over || a->body.len == 0)
        return;
    if (sne_problem_parse((const char *)a->body.data, a->body.len, &pb, NULL) != SNE_OK)
        return;
    snprintf(out, cap, "%s", pb.detail[0] ? pb.detail : pb.title);
}

/* What the body of a successful answer must be. */
typedef enum answer_kind {
    ANSWER_JSON, /* the JSON of the calls on exports and movements */
    ANSWER_XML,  /* an export document (a unit read) */
} answer_kind;

typedef struct call {
    const char *method; /* "GET", "POST", "DELETE" */
    answer_kind kind;
    size_t body_max; /* bytes of a kept body; 0: JSON_MAX */
    char url[URL_MAX];
    char what[96];    /* "POST /exports" for messages: never the token, never a query */
    const char *json; /* request body (POST) */
    download *dl;
    double retry_after; /* out: of the successful answer */
} call;

/* Writes the call's URL, base followed by the three parts (each may be ""); a URL that does not
 * fit in URL_MAX is refused, never sent cut. */
static sne_err call_url(call *c, sne_error *err, const char *base, const char *p1, const char *p2,
                        const char *p3)
{
    if (sne_format(c->url, sizeof(c->url), "%s%s%s%s", base, p1, p2, p3))
        return SNE_OK;
    return sne_error_set(err, SNE_ERR_USAGE, 0, "the URL of %s would be longer than %d bytes",
                         c->what, URL_MAX - 1);
}

/* The transport options of one request (curl_easy_reset() drops the previous request's).
 * `curl_msg` (CURL_ERROR_SIZE bytes) receives curl's explanation of a failure. */
static void set_options(sne_fetch *f, const call *c, attempt *a, char *curl_msg)
{
    CURL *h = f->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (f->o.cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, f->o.cacert);
    if (f->o.cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, f->o.cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (f->o.key) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, f->o.key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    sne_tls_seen_reset(&f->tls);
    (void)sne_tls_watch(h, &f->tls); /* without it, tls_hint() rests on the CURLcode alone */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, f->o.connect_timeout);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, f->o.low_speed_limit);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, f->o.low_speed_time);
    if (!c->dl)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, f->o.request_timeout);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "snesync/0.1");
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
}

/* Appends one header line; on failure frees the whole list and leaves it NULL. */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l) {
        curl_slist_free_all(*list);
        *list = NULL;
        return false;
    }
    *list = l;
    return true;
}

/* Sets the request's method and body, and returns its headers (owned by the caller, who frees
 * them after the transfer); NULL when out of memory. */
static struct curl_slist *request_headers(sne_fetch *f, const call *c)
{
    CURL *h = f->curl;
    struct curl_slist *hdrs = NULL;
    char auth[2048 + 32], range[96], ifrange[80];
    bool ok = add_header(&hdrs, c->dl ? "Accept: application/gzip, application/problem+json"
                                      : "Accept: application/json, application/problem+json");
    if (ok && f->o.token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->o.token);
        ok = add_header(&hdrs, auth);
        memset(auth, 0, sizeof(auth));
    }
    if (strcmp(c->method, "POST") == 0) {
        ok = ok && add_header(&hdrs, "Content-Type: application/json") &&
             add_header(&hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->json));
    } else if (strcmp(c->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (ok && c->dl && c->dl->next > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)c->dl->next);
        ok = add_header(&hdrs, range);
        if (ok && c->dl->sha256) {
            snprintf(ifrange, sizeof(ifrange), "If-Range: \"%s\"", c->dl->sha256);
            ok = add_header(&hdrs, ifrange);
        }
    }
    return ok ? hdrs : NULL;
}

static void download_restart(download *d)
{
    d->checked = d->to_sink = d->not_archive = false;
    d->skip = d->pos = d->got = 0;
    d->stop = SNE_OK;
}

/* An HTTP answer: a success, or the server's refusal with its problem detail. */
static outcome judge_answer(const call *c, attempt *a, char *why, size_t whylen)
{
    long st = a->status;
    char detail[300];
    if (st / 100 == 2) {
        if (c->dl && c->dl->next < c->dl->size) {
            snprintf(why, whylen, "%s: the answer ended at byte %llu of %llu", c->what,
                     (unsigned long long)c->dl->next, (unsigned long long)c->dl->size);
            return OUT_RETRY;
        }
        bool typed = c->kind == ANSWER_XML ? is_xml_type(a->content_type)
                                           : is_json_type(a->content_type);
        if (!c->dl && !typed) { /* a proxy's page: like a 503 */
            snprintf(why, whylen, "%s: the answer is not %s (Content-Type '%.60s')", c->what,
                     c->kind == ANSWER_XML ? "XML" : "JSON", a->content_type);
            return OUT_RETRY;
        }
        if (!c->dl && a->body_over) {
            snprintf(why, whylen, "%s: the answer is over %zu bytes", c->what,
                     c->body_max ? c->body_max : (size_t)JSON_MAX);
            return OUT_FINAL;
        }
        return OUT_OK;
    }
    problem_text(a, detail, sizeof(detail));
    snprintf(why, whylen, "%s: HTTP %ld%s%s%s%s", c->what, st, reason(st)[0] ? " " : "", reason(st),
             detail[0] ? ": " : "", detail);
    return st == 429 || st == 502 || st == 503 || st == 504 ? OUT_RETRY : OUT_FINAL;
}

static outcome attempt_once(sne_fetch *f, call *c, attempt *a, char *why, size_t whylen)
{
    CURL *h = f->curl;
    char curl_msg[CURL_ERROR_SIZE] = "", text[CURL_ERROR_SIZE + 32];
    if (c->dl)
        download_restart(c->dl);
    set_options(f, c, a, curl_msg);
    struct curl_slist *hdrs = request_headers(f, c);
    if (!hdrs) {
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        snprintf(why, whylen, "%s: out of memory", c->what);
        a->status = -(long)CURLE_OUT_OF_MEMORY;
        return OUT_FINAL;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    curl_text(cc, curl_msg, text, sizeof(text));
    a->too_slow = cc == CURLE_OPERATION_TIMEDOUT;
    if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR || cc == CURLE_PARTIAL_FILE)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    f->stats.last_status = (int)a->status;

    if (c->dl && c->dl->stop) {
        snprintf(why, whylen, "%s", a->err ? a->err->message : "download stopped");
        return OUT_SINK;
    }
    if (c->dl && c->dl->not_archive) {
        snprintf(why, whylen, "%s: the answer is not the archive (Content-Type '%.60s')", c->what,
                 a->content_type[0] ? a->content_type : "none");
        return OUT_RETRY;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK || atomic_load(&f->cancel)) {
        snprintf(why, whylen, "%s: cancelled", c->what);
        a->status = -1;
        return OUT_FINAL;
    }
    if (cc != CURLE_OK && !(c->dl && c->dl->got > 0 && a->status / 100 == 2)) {
        a->status = -(long)cc; /* remembered as a network failure */
        return transport_failure(f, c->what, cc, text, why, whylen);
    }
    if (cc != CURLE_OK) { /* a download cut after some progress: resume */
        if (c->dl->next == c->dl->size)
            return OUT_OK; /* every announced byte is here (the server's Content-Length was
                              larger): the size and sha256 checks of the caller decide */
        snprintf(why, whylen, "%s: %s after %llu bytes", c->what, text,
                 (unsigned long long)c->dl->got);
        a->status = -(long)cc; /* a network failure, should the retries run out */
        return OUT_RETRY;
    }
    return judge_answer(c, a, why, whylen);
}

/* The attempts a failure may take: max_attempts, fewer for a name that does not resolve. */
static unsigned attempts_for(const sne_fetch *f, long status)
{
    if (status < 0 && dns_failure((CURLcode)-status) && f->o.max_attempts > DNS_ATTEMPTS)
        return DNS_ATTEMPTS;
    return f->o.max_attempts;
}

static sne_err run_call(sne_fetch *f, call *c, sne_buf *body, sne_error *err)
{
    attempt a;
    char why[sizeof(err->message)] = "";
    sne_err rc = SNE_OK;
    unsigned failures = 0; /* consecutive attempts without progress */
    memset(&f->stats, 0, sizeof(f->stats));
    c->retry_after = 0;
    for (;;) {
        memset(&a, 0, sizeof(a));
        a.f = f;
        a.dl = c->dl;
        a.err = err;
        sne_buf_init(&a.body, c->body_max ? c->body_max : JSON_MAX);
        if (atomic_load(&f->cancel)) {
            sne_buf_free(&a.body);
            return sne_error_set(err, SNE_ERR_NETWORK, 0, "%s: cancelled", c->what);
        }
        f->stats.attempts++;
        outcome out = attempt_once(f, c, &a, why, sizeof(why));
        double ra =
            a.retry_after[0] ? sne_fetch_parse_retry_after(a.retry_after, (double)time(NULL)) : -1;
        if (out == OUT_OK) {
            c->retry_after = ra > 0 ? ra : 0;
            if (body) {
                sne_buf_free(body);
                *body = a.body;
            } else {
                sne_buf_free(&a.body);
            }
            return SNE_OK;
        }
        sne_buf_free(&a.body);
        if (out == OUT_SINK)
            return c->dl->stop;
        if (out == OUT_FINAL) {
            if (a.status > 0)
                return sne_error_set(err, SNE_ERR_HTTP, (int)a.status, "%s", why);
            return sne_error_set(err, SNE_ERR_NETWORK, a.status < 0 ? (int)-a.status : 0, "%s",
                                 why);
        }
        /* OUT_RETRY */
        if (c->dl && c->dl->got > 0 &&
            (!a.too_slow ||
             c->dl->got >= (uint64_t)f->o.low_speed_limit * (uint64_t)f->o.low_speed_time))
            failures = 0; /* progress was made: a cut is not a dead server (but a trickle that
                             the low-speed limit stopped is a failure, whatever it brought) */
        failures++;
        if (failures >= attempts_for(f, a.status)) {
            if (a.status > 0)
                rc = sne_error_set(err, SNE_ERR_HTTP, (int)a.status,
                                   "%s (still failing after %u attempt%s)", why, failures,
                                   failures > 1 ? "s" : "");
            else
                rc = sne_error_set(err, SNE_ERR_NETWORK, a.status < 0 ? (int)-a.status : 0,
                                   "%s (still failing after %u attempt%s)", why, failures,
                                   failures > 1 ? "s" : "");
            return rc;
        }
        double wait =
            sne_fetch_backoff(failures, f->o.backoff_base, f->o.backoff_cap, next_random(f));
        if (ra > f->o.max_retry_after)
            return sne_error_set(err, SNE_ERR_HTTP, (int)a.status,
                                 "%s (the server asks to come back in %.0f s)", why, ra);
        if (ra > wait)
            wait = ra; /* never sooner than the server asked */
        f->stats.waited += wait;
        sne_fetch_wait(f, wait);
    }
}

static sne_err parse_status_body(const sne_buf *b, const char *what, sne_export_status *st,
                                 sne_error *err)
{
    sne_err rc = sne_status_parse((const char *)b->data, b->len, st, err);
    if (rc)
        sne_error_prefix(err, "%s: ", what);
    return rc ? SNE_ERR_HTTP : SNE_OK;
}

sne_err sne_fetch_post_export(sne_fetch *f, const char *request_json, sne_export_status *st,
                              double *retry_after, sne_error *err)
{
    call c = {.method = "POST", .json = request_json};
    sne_buf body = {0};
    snprintf(c.what, sizeof(c.what), "POST /exports");
    sne_err rc = call_url(&c, err, f->api, "/exports", "", "");
    if (!rc)
        rc = run_call(f, &c, &body, err);
    if (!rc)
        rc = parse_status_body(&body, c.what, st, err);
    if (retry_after)
        *retry_after = c.retry_after;
    sne_buf_free(&body);
    return rc;
}

sne_err sne_fetch_status(sne_fetch *f, const char *numero, sne_export_status *st,
                         double *retry_after, sne_error *err)
{
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    call c = {.method = "GET"};
    sne_buf body = {0};
    snprintf(c.what, sizeof(c.what), "GET /exports/%s", numero);
    sne_err rc = call_url(&c, err, f->api, "/exports/", numero, "");
    if (!rc)
        rc = run_call(f, &c, &body, err);
    if (!rc)
        rc = parse_status_body(&body, c.what, st, err);
    if (retry_after)
        *retry_after = c.retry_after;
    sne_buf_free(&body);
    return rc;
}

sne_err sne_fetch_delete(sne_fetch *f, const char *numero, sne_error *err)
{
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    call c = {.method = "DELETE"};
    snprintf(c.what, sizeof(c.what), "DELETE /exports/%s", numero);
    sne_err rc = call_url(&c, err, f->api, "/exports/", numero, "");
    return rc ? rc : run_call(f, &c, NULL, err);
}

sne_err sne_fetch_download(sne_fetch *f, const char *numero, const char *path, uint64_t offset,
                           uint64_t size, const char *etag_sha256, sne_fetch_sink_fn sink,
                           void *sink_ctx, sne_error *err)
{
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    if (offset > size)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "download offset past the end");
    download d = {
        .next = offset, .size = size, .sha256 = etag_sha256, .sink = sink, .sink_ctx = sink_ctx};
    call c = {.method = "GET", .dl = &d};
    /* fichier.url: a path on this server (never another host: credentials go with it). */
    bool path_ok = path && path[0] == '/' && path[1] != '/' && strlen(path) < 512;
    for (const char *p = path; path_ok && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#' || *p == '\\')
            path_ok = false;
    snprintf(c.what, sizeof(c.what), "GET /exports/%s/fichier", numero);
    sne_err rc = path_ok ? call_url(&c, err, f->origin, path, "", "")
                         : call_url(&c, err, f->api, "/exports/", numero, "/fichier");
    if (rc || offset == size)
        return rc;
    return run_call(f, &c, NULL, err);
}

sne_err sne_fetch_get_movements(sne_fetch *f, const char *query, sne_buf *body, sne_error *err)
{
    call c = {.method = "GET", .kind = ANSWER_JSON, .body_max = SNE_FETCH_PAGE_MAX};
    snprintf(c.what, sizeof(c.what), "GET /demandes/mouvements");
    sne_err rc = call_url(&c, err, f->api, "/demandes/mouvements?", query, "");
    return rc ? rc : run_call(f, &c, body, err);
}

sne_err sne_fetch_read_demand(sne_fetch *f, const char *num, const char *query, sne_buf *body,
                              sne_error *err)
{
    if (!sne_num_unique_valid(num))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad demand number");
    call c = {.method = "GET", .kind = ANSWER_XML, .body_max = SNE_FETCH_DOCUMENT_MAX};
    snprintf(c.what, sizeof(c.what), "GET /demandes/%s", num);
    sne_err rc = call_url(&c, err, f->api, "/demandes/", num, query);
    return rc ? rc : run_call(f, &c, body, err);
}
