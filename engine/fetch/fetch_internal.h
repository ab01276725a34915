/* fetch_internal.h: the parts of the HTTP client that its files share, not for use outside
 * engine/fetch/ (fetch.h is the module's interface).
 *
 * How a call goes:
 *
 *     fetch_exports.c   an API call: its URL (sne_fetch_call_url), then sne_fetch_call_run
 *     fetch_retry.c     attempts until an answer is final: backoff, jitter, Retry-After
 *     fetch_attempt.c   one request over libcurl: options, headers, the answer's verdict
 *     fetch_download.c  inside an attempt, the archive's bytes checked on their way to the sink
 *     fetch_failure.c   a failure in words: curl's text, TLS hints, the problem+json detail
 *     fetch.c           the handle: options and their checks, the clock, cancel
 *
 * A new endpoint needs only the first step: fill a sne_fetch_call (method, sne_fetch_call_url,
 * `what`, and the answer's type and bound when they are not JSON's) and run it, as
 * sne_fetch_get_json() does for a GET answered with JSON and gdm.c for the movements and the
 * unit read. */
#ifndef SNE_FETCH_INTERNAL_H
#define SNE_FETCH_INTERNAL_H

#include "../common/buffer.h"
#include "fetch.h"
#include "tls_watch.h"

#include <curl/curl.h>
#include <stdatomic.h>

#define SNE_FETCH_URL_MAX   2048 /* bytes of a request URL, its NUL included */
#define SNE_FETCH_HDR_VALUE 256  /* bytes kept of one response header's value, NUL included */
#define SNE_FETCH_WHAT_MAX  96   /* bytes of a call's name in messages, NUL included */
/* A host name that does not resolve: the system's resolver has already retried (resolv.conf's
 * attempts and timeout), so what is left is mostly a typo or a missing DNS entry, sometimes a
 * resolver restarting. Three attempts (about 3 s with the default backoff) absorb the latter
 * without waiting minutes on the former. */
#define SNE_FETCH_DNS_ATTEMPTS 3u

struct sne_fetch {
    sne_fetch_options o; /* with the defaults filled in (sne_fetch_new) */
    sne_fetch_clock clock;
    CURL *curl;
    char api[SNE_FETCH_URL_MAX];    /* scheme://host:port/prefix/v1.0 */
    char origin[SNE_FETCH_URL_MAX]; /* scheme://host:port */
    atomic_bool cancel;
    const volatile sig_atomic_t *stop; /* sne_fetch_set_stop; NULL: none */
    uint64_t rng;
    sne_fetch_stats stats;
    unsigned retries; /* attempts after the first of their call, every call of the handle's life */
    sne_tls_seen tls; /* the last request's handshake; outlives curl's kept-alive connections */
};

/* What one attempt came to. */
typedef enum sne_fetch_outcome {
    SNE_FETCH_OK,
    SNE_FETCH_RETRY, /* transient: wait and try again */
    SNE_FETCH_FINAL, /* the server's final answer, or a local/TLS set-up problem */
    SNE_FETCH_SINK,  /* the sink (or a consistency check) stopped the download */
} sne_fetch_outcome;

/* A download in progress across attempts (fetch_download.c). */
typedef struct sne_fetch_download_state {
    uint64_t next; /* absolute offset of the next byte the sink needs */
    uint64_t size;
    const char *sha256; /* borrowed; may be NULL */
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
} sne_fetch_download_state;

/* One attempt's answer, as libcurl's callbacks saw it. */
typedef struct sne_fetch_attempt {
    sne_fetch *f;
    long status; /* HTTP status; < 0: -CURLcode of a transport failure, -1 when cancelled */
    char retry_after[SNE_FETCH_HDR_VALUE];
    char content_type[SNE_FETCH_HDR_VALUE];
    char etag[SNE_FETCH_HDR_VALUE];
    char content_range[SNE_FETCH_HDR_VALUE];
    sne_buf body;   /* the answer's body (or the error body of a download), capped */
    bool body_over; /* the body passed its cap: read as absent */
    bool too_slow;  /* stopped by the low-speed limit or the request timeout */
    sne_fetch_download_state *dl;
    sne_error *err; /* the caller's: where a download check or the sink describes a stop */
} sne_fetch_attempt;

/* What the body of a successful answer to a call that is not a download must be. */
typedef enum sne_fetch_answer {
    SNE_FETCH_ANSWER_JSON, /* the calls on exports and movements (no type, or any json) */
    SNE_FETCH_ANSWER_XML,  /* an export document, a unit read (xml or any +xml) */
} sne_fetch_answer;

/* One API call: what the retries repeat. */
typedef struct sne_fetch_call {
    const char *method;      /* "GET", "POST", "DELETE" */
    sne_fetch_answer answer; /* JSON unless said */
    size_t body_max;         /* bytes of the body kept; 0: SNE_JSON_MAX_INPUT. A larger body of
                                a success is a final error, never read cut */
    char url[SNE_FETCH_URL_MAX];
    char what[SNE_FETCH_WHAT_MAX]; /* "POST /exports" for messages: never the token or a query */
    const char *json;              /* request body (POST); borrowed */
    sne_fetch_download_state *dl;  /* a download, or NULL for a JSON call */
    double retry_after;            /* out: of the successful answer, 0 when none */
} sne_fetch_call;

/* --- fetch.c ---------------------------------------------------------------------------------- */

/* The next jitter value: the clock's random source, or the handle's own generator. */
uint64_t sne_fetch_next_random(sne_fetch *f);

/* --- fetch_exports.c -------------------------------------------------------------------------- */

/* Writes c->url: `base` (f->api or f->origin) followed by three parts, each possibly "". A URL
 * that does not fit in SNE_FETCH_URL_MAX is refused (SNE_ERR_USAGE naming c->what), never sent
 * cut; c->what must be set first. */
sne_err sne_fetch_call_url(sne_fetch_call *c, sne_error *err, const char *base, const char *p1,
                           const char *p2, const char *p3);

/* GET f->api followed by `path` (starting with '/'), retried as every call, and its 2xx JSON
 * body in *body (replaced; the caller frees it) and the answer's Retry-After in *retry_after
 * (may be NULL). `what` names the call in messages. */
sne_err sne_fetch_get_json(sne_fetch *f, const char *what, const char *path, sne_buf *body,
                           double *retry_after, sne_error *err);

/* --- fetch_retry.c ---------------------------------------------------------------------------- */

/* Runs `c` until an answer is final or the attempts run out (fetch.h: what is retried, how long
 * it waits). On success a JSON call's body goes to *body when not NULL (replaced; the caller
 * frees it) and c->retry_after is set. f->stats describe the call; f->retries counts its
 * attempts after the first. */
sne_err sne_fetch_call_run(sne_fetch *f, sne_fetch_call *c, sne_buf *body, sne_error *err);

/* --- fetch_attempt.c -------------------------------------------------------------------------- */

/* One request of `c` with `a` zeroed but for f, dl, err and an initialised body. On anything
 * but SNE_FETCH_OK, `why` (whylen bytes) says what happened, never with the token. */
sne_fetch_outcome sne_fetch_attempt_once(sne_fetch *f, sne_fetch_call *c, sne_fetch_attempt *a,
                                         char *why, size_t whylen);

/* Whether an HTTP status is transient in the contract's terms (429, 502, 503, 504). */
bool sne_fetch_status_transient(long status);

/* Keeps n bytes of a JSON (or error) body, up to its cap; always returns n. */
size_t sne_fetch_keep_body(sne_fetch_attempt *a, const char *data, size_t n);

/* --- fetch_download.c ------------------------------------------------------------------------- */

/* Forgets what the previous attempt saw; keeps where the download stands (next). */
void sne_fetch_download_restart(sne_fetch_download_state *d);

/* libcurl's write callback of a download attempt: checks the answer at its first byte, then
 * hands the archive's bytes to the sink or keeps an error body. Returns n, or 0 to stop. */
size_t sne_fetch_download_body(sne_fetch_attempt *a, const char *data, size_t n);

/* --- fetch_failure.c -------------------------------------------------------------------------- */

/* Whether a transport failure is a name that does not resolve. */
bool sne_fetch_dns_failure(CURLcode cc);

/* curl's explanation of `cc` (its error buffer, or its strerror) with the code, printable. */
void sne_fetch_curl_text(CURLcode cc, const char *buffer, char *out, size_t cap);

/* A request that got no HTTP answer: `what`, curl's `text`, a hint at what to fix, in `why`;
 * SNE_FETCH_FINAL when retrying cannot cure it, else SNE_FETCH_RETRY. */
sne_fetch_outcome sne_fetch_transport_failure(const sne_fetch *f, const char *what, CURLcode cc,
                                              const char *text, char *why, size_t whylen);

/* "what: HTTP 404 Not Found: detail" for a non-2xx answer (the problem+json detail, or title). */
void sne_fetch_refusal_text(const char *what, const sne_fetch_attempt *a, char *why, size_t whylen);

#endif
