/* Unit tests of the HTTP client: a scripted HTTP server in a thread on loopback answers each
 * request with a canned reply (or cuts it), and the client's clock is injected, so every wait
 * (Retry-After, backoff with jitter) is checked exactly and nothing sleeps. */
#include "fetch/fetch.h"
#include "fetch/gdm.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPLIES 12
#define TOKEN       "tkn-Secret-42"
#define SHA         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct reply {
    const char *head; /* status line and headers, each ending in \r\n (Content-Length added) */
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    size_t cut;      /* send only this many body bytes, then close; 0: all */
} reply;

typedef struct server {
    int lfd;
    int port;
    pthread_t tid;
    reply replies[MAX_REPLIES];
    size_t n;
    char requests[MAX_REPLIES][4096];
    size_t nreq;
    unsigned trickle_ms; /* bodies go one byte every trickle_ms (real time); 0: at once */
} server;

static void *serve(void *arg)
{
    server *s = arg;
    /* Replies are scripted before the client makes its requests; the loop ends when
     * server_stop() shuts the listening socket down. */
    for (size_t i = 0; i < MAX_REPLIES; i++) {
        int c = accept(s->lfd, NULL, NULL);
        if (c < 0)
            break;
        if (i >= s->n) { /* not scripted: no answer */
            close(c);
            continue;
        }
        char *req = s->requests[i];
        size_t got = 0;
        /* the head, then as many body bytes as Content-Length says */
        while (got < sizeof(s->requests[i]) - 1) {
            ssize_t r = recv(c, req + got, sizeof(s->requests[i]) - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            req[got] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (end) {
                const char *cl = strstr(req, "Content-Length: ");
                size_t want = cl ? (size_t)atoi(cl + 16) : 0;
                if (got >= (size_t)(end + 4 - req) + want)
                    break;
            }
        }
        s->nreq++;
        const reply *rp = &s->replies[i];
        size_t blen = rp->body ? (rp->body_len ? rp->body_len : strlen(rp->body)) : 0;
        char head[1024];
        int hn = snprintf(head, sizeof(head), "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                          rp->head, blen);
        const char *range = strstr(req, "\r\nRange: bytes=");
        size_t from = 0;
        if (s->trickle_ms && range) { /* a resume: the rest of the body (206) */
            from = (size_t)atoi(range + strlen("\r\nRange: bytes="));
            from = from < blen ? from : blen;
            hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 206 Partial Content\r\nContent-Type: application/gzip\r\n"
                          "Content-Range: bytes %zu-%zu/%zu\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n",
                          from, blen - 1, blen, blen - from);
        }
        send(c, head, (size_t)hn, MSG_NOSIGNAL);
        size_t send_len = rp->cut ? rp->cut : blen;
        if (s->trickle_ms) {
            for (size_t k = from; k < send_len; k++) {
                struct timespec ts = {0, (long)s->trickle_ms * 1000000L};
                nanosleep(&ts, NULL);
                if (send(c, rp->body + k, 1, MSG_NOSIGNAL) != 1)
                    break; /* the client gave up */
            }
        } else if (blen) {
            send(c, rp->body, send_len, MSG_NOSIGNAL);
        }
        shutdown(c, SHUT_RDWR);
        close(c);
    }
    return NULL;
}

static void server_start(server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    bind(s->lfd, (struct sockaddr *)&a, sizeof(a));
    listen(s->lfd, 8);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->tid, NULL, serve, s);
}

static void server_stop(server *s)
{
    shutdown(s->lfd, SHUT_RDWR); /* wakes accept() if replies are left over */
    pthread_join(s->tid, NULL);
    close(s->lfd);
}

/* A port nobody listens on. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* The injected clock: virtual time, every wait recorded. */
typedef struct fake_clock {
    double t;
    double waits[32];
    int nwaits;
    uint64_t rnd;
} fake_clock;

static double fc_now(void *ctx)
{
    return ((fake_clock *)ctx)->t;
}
static void fc_sleep(void *ctx, double s)
{
    fake_clock *c = ctx;
    if (c->nwaits < 32)
        c->waits[c->nwaits++] = s;
    c->t += s;
}
static uint64_t fc_random(void *ctx)
{
    return ((fake_clock *)ctx)->rnd;
}

typedef struct fixture {
    server srv;
    fake_clock fc;
    sne_fetch_clock clock;
    sne_fetch *f;
    char url[64];
} fixture;

static void fixture_open(fixture *x, unsigned max_attempts)
{
    memset(x, 0, sizeof(*x));
    server_start(&x->srv);
    x->fc.rnd = UINT64_MAX / 2; /* jitter: half way */
    x->clock = (sne_fetch_clock){fc_now, fc_sleep, fc_random, &x->fc};
    snprintf(x->url, sizeof(x->url), "http://127.0.0.1:%d/", x->srv.port);
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.server = x->url;
    o.token = TOKEN;
    o.clock = &x->clock;
    o.max_attempts = max_attempts;
    o.connect_timeout = 5;
    o.low_speed_time = 5;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_new(&x->f, &o, &err), SNE_OK);
}

static void fixture_close(fixture *x)
{
    sne_fetch_free(x->f);
    server_stop(&x->srv);
}

static void add(fixture *x, reply r)
{
    x->srv.replies[x->srv.n++] = r;
}

static const char *status_json =
    "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"progression\":40}";
#define JSON_HEAD(status)    "HTTP/1.1 " status "\r\nContent-Type: application/json\r\n"
#define PROBLEM_HEAD(status) "HTTP/1.1 " status "\r\nContent-Type: application/problem+json\r\n"

static void test_post_and_headers(void)
{
    fixture x;
    fixture_open(&x, 4);
    add(&x, (reply){JSON_HEAD("202 Accepted") "Retry-After: 3\r\nLocation: /v1.0/exports/X9\r\n",
                    "{\"numeroExport\":\"X9\",\"statut\":\"EN_ATTENTE\"}", 0, 0});
    sne_export_status st;
    double ra = -1;
    sne_error err = {0};
    const char *req = "{\"entites\":[\"CERFA\"],\"etatDemande\":\"ACTIVE\"}";
    CHECK_EQ_INT(sne_fetch_post_export(x.f, req, &st, &ra, &err), SNE_OK);
    if (err.code)
        fprintf(stderr, "post: %s\n", err.message);
    CHECK_EQ_STR(st.numero, "X9");
    CHECK_EQ_INT(st.statut, SNE_STATUT_EN_ATTENTE);
    CHECK_EQ_INT((int)ra, 3);
    fixture_close(&x);
    const char *r = x.srv.requests[0];
    CHECK(strncmp(r, "POST /v1.0/exports HTTP/1.1\r\n", 29) == 0);
    CHECK(strstr(r, "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL);
    CHECK(strstr(r, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(r, "\r\n\r\n{\"entites\":[\"CERFA\"],\"etatDemande\":\"ACTIVE\"}") != NULL);
    CHECK(strstr(r, "Expect:") == NULL);
    CHECK_EQ_INT(x.fc.nwaits, 0);
}

static void test_retry_after_honoured(void)
{
    fixture x;
    fixture_open(&x, 5);
    add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable") "Retry-After: 7\r\n",
                    "{\"status\":503,\"detail\":\"maintenance\"}", 0, 0});
    add(&x, (reply){PROBLEM_HEAD("429 Too Many Requests") "Retry-After: 4\r\n", "{\"status\":429}",
                    0, 0});
    add(&x, (reply){JSON_HEAD("200 OK") "Retry-After: 2\r\n", status_json, 0, 0});
    sne_export_status st;
    double ra;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, &ra, &err), SNE_OK);
    CHECK_EQ_INT(st.progression, 40);
    CHECK_EQ_INT((int)ra, 2);
    CHECK_EQ_INT(x.fc.nwaits, 2);
    CHECK(x.fc.waits[0] == 7.0); /* never sooner than the server asked */
    CHECK(x.fc.waits[1] == 4.0);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 3);
    fixture_close(&x);
    CHECK(strncmp(x.srv.requests[2], "GET /v1.0/exports/X1 HTTP/1.1", 29) == 0);
}

/* A handle's retries add up over its calls: the attempts after the first of each call, those of a
 * call that gave up included; a final answer is not retried. */
static void test_retries_over_calls(void)
{
    fixture x;
    fixture_open(&x, 2);
    CHECK_EQ_INT(sne_fetch_retries(x.f), 0);
    add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable"), "{}", 0, 0});
    add(&x, (reply){JSON_HEAD("200 OK"), status_json, 0, 0});
    add(&x, (reply){JSON_HEAD("200 OK"), status_json, 0, 0});
    add(&x, (reply){PROBLEM_HEAD("429 Too Many Requests"), "{}", 0, 0});
    add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable"), "{}", 0, 0});
    add(&x, (reply){PROBLEM_HEAD("404 Not Found"), "{}", 0, 0});
    sne_export_status st;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_OK);
    CHECK_EQ_INT(sne_fetch_retries(x.f), 1);
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_OK);
    CHECK_EQ_INT(sne_fetch_retries(x.f), 1);
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK_EQ_INT(err.lib_code, 503);
    CHECK_EQ_INT(sne_fetch_retries(x.f), 2);
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK_EQ_INT(err.lib_code, 404);
    CHECK_EQ_INT(sne_fetch_retries(x.f), 2);
    fixture_close(&x);
}

static void test_backoff_with_jitter(void)
{
    fixture x;
    fixture_open(&x, 5);
    x.fc.rnd = 0; /* jitter at its low end: exactly half of each step */
    add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable"), "{}", 0, 0});
    add(&x, (reply){"HTTP/1.1 502 Bad Gateway\r\n", "", 0, 0});
    add(&x, (reply){PROBLEM_HEAD("429 Too Many Requests"), "{}", 0, 0});
    add(&x, (reply){JSON_HEAD("200 OK"), status_json, 0, 0});
    sne_export_status st;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_OK);
    CHECK_EQ_INT(x.fc.nwaits, 3);
    CHECK(x.fc.waits[0] == 0.5 && x.fc.waits[1] == 1.0 && x.fc.waits[2] == 2.0);
    fixture_close(&x);

    /* The function itself: within [d/2, d], d doubling up to the cap. */
    for (unsigned a = 1; a < 30; a++) {
        double d = 1;
        for (unsigned i = 1; i < a; i++)
            d = d * 2 > 60 ? 60 : d * 2;
        double lo = sne_fetch_backoff(a, 1, 60, 0), hi = sne_fetch_backoff(a, 1, 60, UINT64_MAX);
        CHECK(lo == d / 2);
        CHECK(hi <= d && hi > d * 0.99);
        double mid = sne_fetch_backoff(a, 1, 60, 0x123456789abcdefULL);
        CHECK(mid >= lo && mid <= hi);
    }
    CHECK(sne_fetch_backoff(0, 1, 60, 0) == 0);
}

static void test_final_errors(void)
{
    static const struct {
        const char *head;
        int status;
    } finals[] = {{PROBLEM_HEAD("400 Bad Request"), 400},
                  {PROBLEM_HEAD("401 Unauthorized"), 401},
                  {PROBLEM_HEAD("403 Forbidden"), 403},
                  {PROBLEM_HEAD("404 Not Found"), 404},
                  {PROBLEM_HEAD("410 Gone"), 410}};
    for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
        fixture x;
        fixture_open(&x, 5);
        add(&x, (reply){finals[i].head,
                        "{\"type\":\"about:blank\",\"title\":\"T\",\"status\":0,"
                        "\"detail\":\"habilitation DRM manquante pour G1111\"}",
                        0, 0});
        sne_export_status st;
        sne_error err = {0};
        CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
        CHECK_EQ_INT(err.lib_code, finals[i].status);
        if (err.lib_code != finals[i].status)
            fprintf(stderr, "final: %s\n", err.message);
        CHECK(strstr(err.message, "habilitation DRM manquante pour G1111") != NULL);
        CHECK(strstr(err.message, TOKEN) == NULL);
        CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 1); /* at once */
        CHECK_EQ_INT(x.fc.nwaits, 0);
        fixture_close(&x);
    }
    /* A final error without a problem body still says the status. */
    fixture x;
    fixture_open(&x, 5);
    add(&x, (reply){"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n", "<h1>no</h1>", 0, 0});
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_delete(x.f, "X1", &err), SNE_ERR_HTTP);
    CHECK(strstr(err.message, "DELETE /exports/X1: HTTP 403 Forbidden") != NULL);
    fixture_close(&x);
    CHECK(strncmp(x.srv.requests[0], "DELETE /v1.0/exports/X1 HTTP/1.1", 32) == 0);
}

static void test_transient_exhausted(void)
{
    fixture x;
    fixture_open(&x, 3);
    for (int i = 0; i < 3; i++)
        add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable") "Retry-After: 1\r\n",
                        "{\"detail\":\"busy\"}", 0, 0});
    sne_export_status st;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK_EQ_INT(err.lib_code, 503);
    CHECK(strstr(err.message, "busy") && strstr(err.message, "3 attempts"));
    CHECK_EQ_INT(x.fc.nwaits, 2);
    fixture_close(&x);

    /* A Retry-After beyond max_retry_after: an error, not a shorter wait. */
    fixture_open(&x, 3);
    add(&x, (reply){PROBLEM_HEAD("503 Service Unavailable") "Retry-After: 999999\r\n", "{}", 0, 0});
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK(strstr(err.message, "come back in 999999 s") != NULL);
    CHECK_EQ_INT(x.fc.nwaits, 0);
    fixture_close(&x);
}

static void test_network_errors(void)
{
    fake_clock fc = {.rnd = UINT64_MAX};
    sne_fetch_clock clock = {fc_now, fc_sleep, fc_random, &fc};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.server = url;
    o.clock = &clock;
    o.max_attempts = 6;
    o.backoff_base = 1;
    o.backoff_cap = 4;
    sne_fetch *f;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_OK);
    sne_export_status st;
    CHECK_EQ_INT(sne_fetch_status(f, "X1", &st, NULL, &err), SNE_ERR_NETWORK);
    CHECK_EQ_INT(err.lib_code, 7); /* CURLE_COULDNT_CONNECT */
    CHECK_EQ_INT(fc.nwaits, 5);
    for (int i = 0; i < fc.nwaits; i++) /* 1, 2, 4, 4, 4 (capped), jitter at its top */
        CHECK(fc.waits[i] <= 4.0 && fc.waits[i] > (i < 2 ? (double)(1 << i) : 4.0) * 0.99);
    /* cancel: the next call stops at once */
    sne_fetch_cancel(f);
    fc.nwaits = 0;
    CHECK_EQ_INT(sne_fetch_status(f, "X1", &st, NULL, &err), SNE_ERR_NETWORK);
    CHECK(strstr(err.message, "cancelled") != NULL);
    CHECK_EQ_INT(fc.nwaits, 0);
    sne_fetch_free(f);
}

static void test_options(void)
{
    sne_fetch *f = NULL;
    sne_fetch_options o;
    sne_error err = {0};
    sne_fetch_options_default(&o);
    const char *bad[] = {"ftp://h/", "h:80", "", "http://", "http://h/a b", "http://h/?q=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.server = bad[i];
        CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_ERR_USAGE);
        if (f)
            fprintf(stderr, "accepted server URL '%s'\n", bad[i]);
        CHECK(f == NULL);
        sne_fetch_free(f);
        f = NULL;
    }
    o.server = "https://h";
    o.token = "abc\r\nX-Injected: 1";
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_ERR_USAGE);
    CHECK(strstr(err.message, "X-Injected") == NULL); /* the token is never quoted */
    sne_fetch_free(NULL);

    /* A server URL that already ends in /v1.0 is not given a second one. */
    fixture x;
    memset(&x, 0, sizeof(x));
    server_start(&x.srv);
    x.srv.replies[x.srv.n++] = (reply){JSON_HEAD("200 OK"), status_json, 0, 0};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1.0/", x.srv.port);
    o.server = url;
    o.token = NULL;
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_OK);
    sne_export_status st;
    CHECK_EQ_INT(sne_fetch_status(f, "X1", &st, NULL, &err), SNE_OK);
    CHECK_EQ_INT(sne_fetch_status(f, "../x", &st, NULL, &err), SNE_ERR_USAGE);
    sne_fetch_free(f);
    server_stop(&x.srv);
    CHECK(strncmp(x.srv.requests[0], "GET /v1.0/exports/X1 HTTP", 25) == 0);
    CHECK(strstr(x.srv.requests[0], "Authorization") == NULL);

    CHECK(sne_fetch_parse_retry_after("5", 0) == 5);
    CHECK(sne_fetch_parse_retry_after("  12 ", 0) == 12);
    CHECK(sne_fetch_parse_retry_after("1x", 0) < 0);
    CHECK(sne_fetch_parse_retry_after("soon", 0) < 0);
    CHECK(sne_fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10);
    CHECK(sne_fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0) == 0);
}

/* A bearer token goes over plain http to this machine only (it would cross the network in
 * clear); the host is the one curl connects to, not what precedes an '@'. */
static void test_token_transport(void)
{
    static const char *const refused[] = {
        "http://sne.example",      "http://10.0.0.1:8080/",    "http://127.0.0.1@example.org/",
        "http://128.0.0.1/",       "http://[::2]:80/",         "http://localhost.example.org/",
        "HTTP://SNE.EXAMPLE/v1.0", "http://[::ffff:10.0.0.1]/"};
    static const char *const allowed[] = {"https://sne.example",   "HTTPS://sne.example:8443/",
                                          "http://127.0.0.1:8080", "http://127.200.3.4/",
                                          "http://localhost:80/",  "http://LocalHost/",
                                          "http://[::1]:8080/",    "http://[::ffff:127.0.0.1]/"};
    sne_fetch_options o;
    sne_fetch *f = NULL;
    sne_error err = {0};
    sne_fetch_options_default(&o);
    o.token = TOKEN;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        o.server = refused[i];
        CHECK_EQ_INT(sne_fetch_check_options(&o, &err), SNE_ERR_USAGE);
        if (!strstr(err.message, "in clear") || !strstr(err.message, "https://"))
            fprintf(stderr, "%s: %s\n", refused[i], err.message);
        CHECK(strstr(err.message, "would cross the network in clear") != NULL);
        CHECK(strstr(err.message, TOKEN) == NULL);
        CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_ERR_USAGE);
        CHECK(f == NULL);
    }
    CHECK(strstr(err.message, "[::ffff:10.0.0.1]") != NULL); /* the host it would go to */
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        o.server = allowed[i];
        if (sne_fetch_check_options(&o, &err) != SNE_OK)
            fprintf(stderr, "refused %s: %s\n", allowed[i], err.message);
        CHECK_EQ_INT(sne_fetch_check_options(&o, &err), SNE_OK);
    }
    o.token = NULL; /* no token: nothing to protect */
    o.server = refused[0];
    CHECK_EQ_INT(sne_fetch_check_options(&o, &err), SNE_OK);
}

/* fetch with TLS material to an https server on loopback (the scripted one, which answers no
 * TLS: the material is loaded before the handshake). */
static sne_err tls_call(const char *cert, const char *key, const char *cacert, fake_clock *fc,
                        sne_error *err)
{
    server srv = {0};
    server_start(&srv);
    sne_fetch_clock clock = {fc_now, fc_sleep, fc_random, fc};
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", srv.port);
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.server = url;
    o.cert = cert;
    o.key = key;
    o.cacert = cacert;
    o.clock = &clock;
    o.max_attempts = 4;
    o.connect_timeout = 5;
    o.request_timeout = 10;
    sne_fetch *f = NULL;
    sne_export_status st;
    sne_err rc = sne_fetch_new(&f, &o, err);
    if (!rc)
        rc = sne_fetch_status(f, "X1", &st, NULL, err);
    sne_fetch_free(f);
    server_stop(&srv);
    return rc;
}

/* TLS material that does not load is final at once, with curl's explanation (which names the
 * file) and the option to fix; a server that just closes the connection is retried. */
static void test_tls_setup_errors(void)
{
    char junk[] = "/tmp/test_fetch_junk_XXXXXX";
    int fd = mkstemp(junk);
    CHECK(fd >= 0 && write(fd, "not a PEM file\n", 15) == 15);
    close(fd);
    fake_clock fc = {.rnd = 0};
    sne_error err = {0};

    CHECK_EQ_INT(tls_call("/nonexistent/client.pem", "/nonexistent/client.key", NULL, &fc, &err),
                 SNE_ERR_NETWORK);
    CHECK_EQ_INT(err.lib_code, 58); /* CURLE_SSL_CERTPROBLEM */
    CHECK(strstr(err.message, "/nonexistent/client.pem") != NULL);
    CHECK(strstr(err.message, "check --cert and --key") != NULL);
    CHECK_EQ_INT(fc.nwaits, 0);

    CHECK_EQ_INT(tls_call(NULL, NULL, junk, &fc, &err), SNE_ERR_NETWORK);
    CHECK_EQ_INT(err.lib_code, 77); /* CURLE_SSL_CACERT_BADFILE */
    CHECK(strstr(err.message, junk) != NULL);
    CHECK(strstr(err.message, "check --cacert") != NULL);
    CHECK_EQ_INT(fc.nwaits, 0);

    /* a certificate file that is there but is not PEM (a key that does not load: sync_tls) */
    CHECK_EQ_INT(tls_call(junk, junk, NULL, &fc, &err), SNE_ERR_NETWORK);
    CHECK_EQ_INT(err.lib_code, 58);
    CHECK(strstr(err.message, "does not load") != NULL);
    CHECK_EQ_INT(fc.nwaits, 0);

    /* no TLS material: the server closes without a handshake, which may be transient */
    CHECK_EQ_INT(tls_call(NULL, NULL, NULL, &fc, &err), SNE_ERR_NETWORK);
    CHECK(strstr(err.message, "still failing after 4 attempts") != NULL);
    CHECK(strstr(err.message, "--cert") == NULL);
    CHECK_EQ_INT(fc.nwaits, 3);
    unlink(junk);
}

/* A name that does not resolve: curl's message names it, and three attempts are made (not
 * max_attempts: the resolver has retried already). */
static void test_dns_failure(void)
{
    fake_clock fc = {.rnd = 0};
    sne_fetch_clock clock = {fc_now, fc_sleep, fc_random, &fc};
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.server = "https://snesync-test.invalid"; /* RFC 6761: never resolves */
    o.clock = &clock;
    o.max_attempts = 8;
    sne_fetch *f = NULL;
    sne_error err = {0};
    sne_export_status st;
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_OK);
    sne_err rc = sne_fetch_status(f, "X1", &st, NULL, &err);
    if (rc == SNE_ERR_NETWORK && err.lib_code != 6) {
        printf("# skipped: this resolver answers for .invalid (%s)\n", err.message);
    } else {
        CHECK_EQ_INT(rc, SNE_ERR_NETWORK);
        CHECK_EQ_INT(err.lib_code, 6); /* CURLE_COULDNT_RESOLVE_HOST */
        CHECK(strstr(err.message, "snesync-test.invalid") != NULL);
        CHECK(strstr(err.message, "check the host name in --server") != NULL);
        CHECK(strstr(err.message, "after 3 attempts") != NULL);
        CHECK_EQ_INT(sne_fetch_last_stats(f)->attempts, 3);
        CHECK_EQ_INT(fc.nwaits, 2);
    }
    sne_fetch_free(f);
}

/* --- downloads --- */

typedef struct sink_buf {
    unsigned char data[4096];
    size_t len;
    size_t fail_after; /* 0: never */
} sink_buf;

static sne_err sink(void *ctx, const void *p, size_t n)
{
    sink_buf *b = ctx;
    if (b->fail_after && b->len + n > b->fail_after)
        return SNE_ERR_IO;
    if (b->len + n > sizeof(b->data))
        return SNE_ERR_LIMIT;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return SNE_OK;
}

static unsigned char archive[1100]; /* 1000 bytes of archive, then room for a longer answer */

static void make_archive(void)
{
    archive[0] = 0x1f;
    archive[1] = 0x8b;
    for (size_t i = 2; i < 1000; i++)
        archive[i] = (unsigned char)(i * 7 + 3);
}

#define GZ_HEAD(status)                                                                            \
    "HTTP/1.1 " status "\r\nContent-Type: application/gzip\r\nETag: \"" SHA "\"\r\n"

static void test_download_resume(void)
{
    make_archive();
    fixture x;
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 300}); /* cut */
    add(&x, (reply){GZ_HEAD("206 Partial Content") "Content-Range: bytes 300-999/1000\r\n",
                    (const char *)archive + 300, 700, 0});
    sink_buf b = {.len = 0};
    sne_error err = {0};
    CHECK_EQ_INT(
        sne_fetch_download(x.f, "X1", "/v1.0/exports/X1/fichier", 0, 1000, SHA, sink, &b, &err),
        SNE_OK);
    CHECK_EQ_INT(b.len, 1000);
    CHECK(memcmp(b.data, archive, 1000) == 0);
    CHECK_EQ_INT(x.fc.nwaits, 1); /* progress was made: one short wait, then resume */
    fixture_close(&x);
    CHECK(strstr(x.srv.requests[0], "Range:") == NULL);
    CHECK(strstr(x.srv.requests[1], "\r\nRange: bytes=300-\r\n") != NULL);
    CHECK(strstr(x.srv.requests[1], "\r\nIf-Range: \"" SHA "\"\r\n") != NULL);
    CHECK(strstr(x.srv.requests[1], "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL);
}

static void test_download_from_offset(void)
{
    /* Resuming from bytes on disk; the server ignores Range and sends it all (200): the bytes
     * already held are dropped, the rest reaches the sink once. */
    fixture x;
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 0});
    sink_buf b = {.len = 0};
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 500, 1000, SHA, sink, &b, &err), SNE_OK);
    CHECK_EQ_INT(b.len, 500);
    CHECK(memcmp(b.data, archive + 500, 500) == 0);
    fixture_close(&x);
    CHECK(strncmp(x.srv.requests[0], "GET /v1.0/exports/X1/fichier HTTP", 33) == 0);
    CHECK(strstr(x.srv.requests[0], "\r\nRange: bytes=500-\r\n") != NULL);

    /* Nothing left to fetch: no request at all. */
    fixture_open(&x, 4);
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 1000, 1000, SHA, sink, &b, &err), SNE_OK);
    fixture_close(&x);
    CHECK_EQ_INT(x.srv.nreq, 0);
}

static void test_download_not_archive(void)
{
    fixture x;
    fixture_open(&x, 4);
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "<html>maintenance</html>", 0,
                    0});
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n", "PK\3\4zip", 0,
                    0}); /* right type, not a gzip */
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 0});
    sink_buf b = {.len = 0};
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_OK);
    CHECK_EQ_INT(b.len, 1000);
    CHECK(memcmp(b.data, archive, 1000) == 0);
    CHECK_EQ_INT(x.fc.nwaits, 2);
    fixture_close(&x);

    /* Always a page: after the attempts, an HTTP error that says so. */
    fixture_open(&x, 2);
    for (int i = 0; i < 2; i++)
        add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "<html/>", 0, 0});
    b.len = 0;
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_ERR_HTTP);
    CHECK(strstr(err.message, "not the archive") != NULL);
    CHECK_EQ_INT(b.len, 0);
    fixture_close(&x);
}

static void test_download_inconsistent(void)
{
    fixture x;
    sink_buf b = {.len = 0};
    sne_error err = {0};
    /* more bytes than announced */
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 0});
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 900, SHA, sink, &b, &err),
                 SNE_ERR_INCOMPLETE);
    fixture_close(&x);
    /* another range than asked */
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("206 Partial Content") "Content-Range: bytes 0-999/1000\r\n",
                    (const char *)archive, 1000, 0});
    b.len = 0;
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 300, 1000, SHA, sink, &b, &err),
                 SNE_ERR_INCOMPLETE);
    CHECK_EQ_INT(b.len, 0);
    fixture_close(&x);
    /* another file (ETag) */
    fixture_open(&x, 4);
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nETag: \"beef\"\r\n",
                    (const char *)archive, 1000, 0});
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err),
                 SNE_ERR_INCOMPLETE);
    CHECK(strstr(err.message, "ETag") != NULL);
    fixture_close(&x);
    /* expired: final */
    fixture_open(&x, 4);
    add(&x, (reply){PROBLEM_HEAD("410 Gone"), "{\"detail\":\"the export has expired\"}", 0, 0});
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_ERR_HTTP);
    CHECK_EQ_INT(err.lib_code, 410);
    CHECK(strstr(err.message, "expired") != NULL);
    fixture_close(&x);
    /* the sink stops it with its own code, no retry */
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 0});
    b.len = 0;
    b.fail_after = 10;
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_ERR_IO);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 1);
    fixture_close(&x);
}

/* A 2xx JSON answer that is not JSON (a proxy's page) is retried like a 503. */
static void test_json_not_json(void)
{
    fixture x;
    fixture_open(&x, 3);
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "<html>maintenance</html>", 0,
                    0});
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n",
                    status_json, 0, 0});
    sne_export_status st;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_OK);
    CHECK_EQ_INT(st.progression, 40);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 2);
    fixture_close(&x);

    fixture_open(&x, 2);
    for (int i = 0; i < 2; i++)
        add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "<html/>", 0, 0});
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK(strstr(err.message, "not JSON") != NULL);
    fixture_close(&x);
}

/* A unit read is answered with XML: anything else is a proxy's page, retried; a bad number is
 * never sent. A body over the call's bound is a final error, never read cut. */
static void test_answer_types_and_bounds(void)
{
    static const char doc[] = "<?xml version=\"1.0\"?><export/>";
    fixture x;
    fixture_open(&x, 3);
    add(&x, (reply){JSON_HEAD("200 OK"), status_json, 0, 0});
    add(&x, (reply){"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n", doc, 0, 0});
    sne_buf body = {0};
    sne_error err = {0};
    CHECK_EQ_INT(sne_gdm_read_demand(x.f, "0380000000001G1226", "?entites=CERFA", &body, &err),
                 SNE_OK);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 2);
    CHECK(body.len == strlen(doc) && memcmp(body.data, doc, body.len) == 0);
    CHECK_EQ_INT(sne_gdm_read_demand(x.f, "0380000000001g1226", "", &body, &err), SNE_ERR_USAGE);
    fixture_close(&x);
    CHECK(strncmp(x.srv.requests[1],
                  "GET /v1.0/demandes/0380000000001G1226?entites=CERFA HTTP/1.1\r\n", 60) == 0);
    CHECK_EQ_INT((int)x.srv.nreq, 2);

    static char big[SNE_JSON_MAX_INPUT + 2];
    memset(big, ' ', sizeof(big) - 1);
    memcpy(big, status_json, strlen(status_json));
    fixture_open(&x, 3);
    add(&x, (reply){JSON_HEAD("200 OK"), big, 0, 0});
    sne_export_status st;
    CHECK_EQ_INT(sne_fetch_status(x.f, "X1", &st, NULL, &err), SNE_ERR_HTTP);
    CHECK(strstr(err.message, "over 65536 bytes") != NULL);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 1);
    fixture_close(&x);
    sne_buf_free(&body);
}

/* A Content-Length larger than the file: every announced byte came, then the connection closed.
 * That is the whole archive (the caller checks its size and sha256): no second request. */
static void test_download_longer_length(void)
{
    fixture x;
    fixture_open(&x, 4);
    add(&x, (reply){GZ_HEAD("200 OK"), (const char *)archive, 1010, 1000});
    sink_buf b = {.len = 0};
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_download(x.f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_OK);
    CHECK_EQ_INT(b.len, 1000);
    CHECK(memcmp(b.data, archive, 1000) == 0);
    CHECK_EQ_INT(sne_fetch_last_stats(x.f)->attempts, 1);
    fixture_close(&x);
}

/* A server that trickles (a byte every 150 ms, under the 1000 bytes/s asked for 1 s; a resume
 * gets the rest, 206): each attempt is stopped by the low-speed limit and counts as a failure
 * although it brought bytes (counted as progress, the download would take 150 s), so the
 * download ends after max_attempts with a network error that says why (real time: ~3 s). */
static void test_download_trickle(void)
{
    server srv;
    memset(&srv, 0, sizeof(srv));
    server_start(&srv);
    fake_clock fc = {.rnd = 0};
    sne_fetch_clock clock = {fc_now, fc_sleep, fc_random, &fc};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.server = url;
    o.clock = &clock;
    o.max_attempts = 3;
    o.low_speed_time = 1;
    o.low_speed_limit = 1000;
    srv.trickle_ms = 150;
    for (int i = 0; i < MAX_REPLIES; i++)
        srv.replies[srv.n++] = (reply){GZ_HEAD("200 OK"), (const char *)archive, 1000, 0};
    sne_fetch *f;
    sne_error err = {0};
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_OK);
    sink_buf b = {.len = 0};
    CHECK_EQ_INT(sne_fetch_download(f, "X1", NULL, 0, 1000, SHA, sink, &b, &err), SNE_ERR_NETWORK);
    CHECK_EQ_INT(err.lib_code, 28); /* CURLE_OPERATION_TIMEDOUT */
    CHECK(strstr(err.message, "too slow") != NULL);
    if (!strstr(err.message, "too slow"))
        fprintf(stderr, "trickle: %s\n", err.message);
    CHECK_EQ_INT(sne_fetch_last_stats(f)->attempts, 3);
    CHECK(strstr(err.message, "after 3 attempts") != NULL);
    CHECK(b.len > 10 && b.len < 100);
    /* every attempt brought some */ /* it did bring bytes, kept for the resume */
    CHECK(memcmp(b.data, archive, b.len) == 0);
    sne_fetch_free(f);
    server_stop(&srv);
}

/* A URL that would not fit is refused before any request, never sent cut: a server URL too long
 * to leave room for the API's paths, and a fichier.url that would pass the limit after a long
 * origin. No network is needed: the refusal comes before libcurl. */
static void test_url_too_long(void)
{
    static char long_url[5001], path[501];
    fake_clock fc = {.rnd = 0};
    sne_fetch_clock clock = {fc_now, fc_sleep, fc_random, &fc};
    sne_fetch_options o;
    sne_fetch_options_default(&o);
    o.clock = &clock;
    sne_fetch *f = NULL;
    sne_error err = {0};

    memcpy(long_url, "http://", 7);
    memset(long_url + 7, 'a', sizeof(long_url) - 8);
    o.server = long_url;
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_ERR_USAGE);
    CHECK(f == NULL);
    CHECK(strstr(err.message, "server URL is longer than") != NULL);

    long_url[7 + 1900] = '\0'; /* fits, but its origin leaves no room for a long path */
    CHECK_EQ_INT(sne_fetch_new(&f, &o, &err), SNE_OK);
    path[0] = '/';
    memset(path + 1, 'f', sizeof(path) - 2);
    CHECK_EQ_INT(sne_fetch_download(f, "X1", path, 0, 10, SHA, sink, NULL, &err), SNE_ERR_USAGE);
    CHECK(strstr(err.message, "GET /exports/X1/fichier would be longer than 2047 bytes") != NULL);
    CHECK_EQ_INT(sne_fetch_last_stats(f)->attempts, 0);
    CHECK_EQ_INT(fc.nwaits, 0);
    sne_fetch_free(f);
}

int main(void)
{
    test_post_and_headers();
    test_retry_after_honoured();
    test_retries_over_calls();
    test_backoff_with_jitter();
    test_final_errors();
    test_transient_exhausted();
    test_network_errors();
    test_options();
    test_token_transport();
    test_tls_setup_errors();
    test_dns_failure();
    test_download_resume();
    test_download_from_offset();
    test_download_not_archive();
    test_download_inconsistent();
    test_json_not_json();
    test_answer_types_and_bounds();
    test_download_longer_length();
    test_download_trickle();
    test_url_too_long();
    return TEST_SUMMARY();
}
