/* fetch.c: the handle of the export service's HTTP client (fetch.h): its options, checked and
 * completed with the defaults, the libcurl easy handle it reuses, its clock and its cancel flag.
 * The calls themselves are in fetch_exports.c (fetch_internal.h shows how a call goes). */
#include "fetch_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Room the API base needs after the server URL: "/v1.0" and the longest call path. */
#define API_PATH_ROOM 128

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- clock ------------------------------------------------------------------------------------ */

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
    return atomic_load(&((sne_fetch *)f)->cancel) || (f->stop && *f->stop);
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
        if (sne_fetch_cancelled(f))
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

uint64_t sne_fetch_next_random(sne_fetch *f)
{
    if (f->clock.random)
        return f->clock.random(f->clock.ctx);
    /* xorshift64*: the jitter only needs to spread clients apart. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 0x2545F4914F6CDD1DULL;
}

/* --- set-up ----------------------------------------------------------------------------------- */

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

void sne_fetch_set_stop(sne_fetch *f, const volatile sig_atomic_t *stop)
{
    f->stop = stop;
}

const sne_fetch_stats *sne_fetch_last_stats(const sne_fetch *f)
{
    return &f->stats;
}

unsigned sne_fetch_retries(const sne_fetch *f)
{
    return f->retries;
}

/* Checks the server URL and derives its origin and API base (SNE_FETCH_URL_MAX bytes each). A
 * URL longer than SNE_FETCH_URL_MAX - API_PATH_ROOM is refused: its calls would not fit. */
static sne_err split_server(const char *server, char *origin, char *api, sne_error *err)
{
    size_t n = server ? strlen(server) : 0;
    const char *scheme_end = server ? strstr(server, "://") : NULL;
    if (n > SNE_FETCH_URL_MAX - API_PATH_ROOM)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the server URL is longer than %d bytes",
                             SNE_FETCH_URL_MAX - API_PATH_ROOM);
    if (n == 0 || !scheme_end ||
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
    snprintf(origin, SNE_FETCH_URL_MAX, "%.*s", (int)origin_len, server);
    if (n >= 5 && strncmp(server + n - 5, "/v1.0", 5) == 0)
        snprintf(api, SNE_FETCH_URL_MAX, "%.*s", (int)n, server);
    else
        snprintf(api, SNE_FETCH_URL_MAX, "%.*s/v1.0", (int)n, server);
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
    char origin[SNE_FETCH_URL_MAX], api[SNE_FETCH_URL_MAX];
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

/* The options left at 0 take the defaults fetch.h gives. */
static void fill_defaults(sne_fetch_options *o)
{
    if (!o->connect_timeout)
        o->connect_timeout = 30;
    if (!o->low_speed_time)
        o->low_speed_time = 60;
    if (!o->low_speed_limit)
        o->low_speed_limit = 1024;
    if (!o->request_timeout)
        o->request_timeout = 120;
    if (!o->max_attempts)
        o->max_attempts = 8;
    if (o->backoff_base <= 0)
        o->backoff_base = 1;
    if (o->backoff_cap <= 0)
        o->backoff_cap = 60;
    if (o->max_retry_after <= 0)
        o->max_retry_after = 3600;
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
    fill_defaults(&f->o);
    if (o->clock)
        f->clock = *o->clock;
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
