/* fetch.h: the HTTP client of the bulk export service (exports-api.yaml), over libcurl.
 *
 * One handle talks to one server: POST an export, read its status, download its archive with
 * Range resume, DELETE it. Every call retries on its own what the contract calls transient (429
 * and 503, honouring Retry-After, never sooner; 502/504 and network failures) with capped
 * exponential backoff and jitter, and stops at once on a final answer (400, 401, 403, 404, 409,
 * 410, 416...) with SNE_ERR_HTTP, lib_code the HTTP status, and the server's problem+json
 * `detail` in the message. Network failures that retries did not cure are SNE_ERR_NETWORK with
 * lib_code the CURLcode and curl's explanation in the message (its error buffer: the file that
 * does not load, the host that does not resolve, the certificate problem). A name that does not
 * resolve is tried 3 times at most. TLS set-ups that cannot work are final at once, with a hint
 * at the option to fix: a client certificate or key that does not load, a CA file that does not
 * load, a server certificate that does not verify, a handshake the server refused with an alert
 * about certificates or parameters, or a server that asked for a client certificate when none
 * was given (tls_watch.h).
 *
 * Transport: TLS 1.2 at least (CURLOPT_SSLVERSION), peer and host verified, optional client
 * certificate and key (mutual TLS) and CA file; http and https only, no redirects; connect and
 * low-speed timeouts. The bearer token is sent in an Authorization header and appears nowhere
 * else: not in messages, not in logs (curl's verbose mode is never enabled); over plain http it
 * goes to this machine only (sne_fetch_check_options()).
 *
 * Time is injectable (sne_fetch_clock): the waits between retries and the caller's polls go
 * through it, so unit tests run without sleeping and check every delay.
 *
 * A handle is used by one thread at a time; sne_fetch_cancel() alone may be called from another
 * thread (it makes the running call, and its waits, stop with SNE_ERR_NETWORK "cancelled").
 *
 *     sne_fetch *f;
 *     sne_fetch_options o;
 *     sne_fetch_options_default(&o);
 *     o.server = "https://sne.example:443"; o.token = token;
 *     if (sne_fetch_new(&f, &o, &err)) ...;
 *     sne_fetch_post_export(f, "{\"entites\":[\"CERFA\"],\"etatDemande\":\"ACTIVE\"}",
 *                           &st, &ra, &err);
 *     sne_fetch_status(f, st.numero, &st, &ra, &err);  // until st.statut is final
 *     sne_fetch_download(f, st.numero, NULL, offset, st.taille, st.sha256, sink, ctx, &err);
 *     sne_fetch_delete(f, st.numero, &err);
 *     sne_fetch_free(f);
 */
#ifndef SNE_FETCH_H
#define SNE_FETCH_H

#include "../common/buffer.h"
#include "../common/error.h"
#include "snesync.h" /* sne_fetch_options, sne_fetch_check_options */
#include "status_json.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sne_fetch sne_fetch;

/* Creates a handle (curl is initialised once per process, by this or the next function). `o` is
 * copied, its strings borrowed: they must outlive the handle. SNE_ERR_USAGE when
 * sne_fetch_check_options() (public: snesync.h) refuses `o`. */
sne_err sne_fetch_new(sne_fetch **out, const sne_fetch_options *o, sne_error *err);

void sne_fetch_free(sne_fetch *f); /* accepts NULL */

/* Thread-safe: the running call (or its next wait) stops with SNE_ERR_NETWORK. Sticky until
 * sne_fetch_reset_cancel(). */
void sne_fetch_cancel(sne_fetch *f);
void sne_fetch_reset_cancel(sne_fetch *f);
/* A flag (borrowed: it must outlive the handle; NULL: none) that cancels as sne_fetch_cancel()
 * does once it is non-zero, and that sne_fetch_reset_cancel() does not clear: a signal handler
 * sets it to stop the job (sne_sync_run_until). */
void sne_fetch_set_stop(sne_fetch *f, const volatile sig_atomic_t *stop);

/* The handle's clock: monotonic seconds, and a wait of `seconds` (interrupted by cancel). The
 * caller's own waits (between polls) go through these so that tests control them too. */
double sne_fetch_now(sne_fetch *f);
void sne_fetch_wait(sne_fetch *f, double seconds);
/* Whether the handle is cancelled, or its stop flag set. */
bool sne_fetch_cancelled(const sne_fetch *f);

/* What one call did, for progress reports and tests. */
typedef struct sne_fetch_stats {
    unsigned attempts; /* HTTP requests made (or tried) */
    double waited;     /* seconds spent waiting between attempts */
    int last_status;   /* HTTP status of the last answer, 0 if none */
} sne_fetch_stats;

/* The stats of the last call. Borrowed. */
const sne_fetch_stats *sne_fetch_last_stats(const sne_fetch *f);

/* The attempts repeated after a transient failure (an attempt after the first of its call), over
 * every call of the handle's life. Read it when no call is running on another thread. */
unsigned sne_fetch_retries(const sne_fetch *f);

/* POST /exports with the DemandeExport `request_json`: 202 gives the export's number in
 * st->numero (statut usually EN_ATTENTE) and the Retry-After to wait before the first poll in
 * *retry_after (seconds, 0 when none was given). */
sne_err sne_fetch_post_export(sne_fetch *f, const char *request_json, sne_export_status *st,
                              double *retry_after, sne_error *err);

/* GET /exports/{numero}: the status, and the Retry-After that came with it (0 when none). */
sne_err sne_fetch_status(sne_fetch *f, const char *numero, sne_export_status *st,
                         double *retry_after, sne_error *err);

/* DELETE /exports/{numero}. 204 (or 200) is success; 404 and 410 are SNE_ERR_HTTP as usual. */
sne_err sne_fetch_delete(sne_fetch *f, const char *numero, sne_error *err);

/* Receives the archive's bytes in order, starting at the offset asked for. A non-zero return
 * stops the download with that code (the sink set `err` itself, passed as sink_err). */
typedef sne_err (*sne_fetch_sink_fn)(void *ctx, const void *data, size_t n);

/* GET the archive of export `numero` (at `path` when not NULL: the status's fichier.url, a path
 * on the same server) from byte `offset` to `size` (its announced taille), with Range when
 * offset > 0 and If-Range on the announced sha256 (`etag_sha256`, may be NULL). Interrupted
 * transfers are resumed from the last byte received. A body that is not the archive (another
 * content type, as a proxy's error page; no gzip magic at offset 0) is retried like a 503.
 * Every byte reaches `sink` once and in order; the call ends when `size` bytes have been given,
 * and fails with SNE_ERR_INCOMPLETE when the server sends more than announced or another file
 * (its ETag changed). A transfer that the low-speed limit stops counts as a failed attempt even
 * when it brought some bytes (fewer than low_speed_limit x low_speed_time): a server that
 * trickles forever ends in SNE_ERR_NETWORK after max_attempts. A connection closed after every
 * announced byte (a Content-Length larger than the file) is a success: the caller's size and
 * sha256 checks decide. */
sne_err sne_fetch_download(sne_fetch *f, const char *numero, const char *path, uint64_t offset,
                           uint64_t size, const char *etag_sha256, sne_fetch_sink_fn sink,
                           void *sink_ctx, sne_error *err);

/* The wait before attempt `attempt` (1 = the first retry): min(cap, base * 2^(attempt-1)), of
 * which a random half is dropped ("equal jitter"): in [d/2, d]. `rnd` is a uniform 64-bit value. */
double sne_fetch_backoff(unsigned attempt, double base, double cap, uint64_t rnd);

/* Parses a Retry-After header value: delta-seconds, or an HTTP-date relative to `now_wall`
 * (seconds since the epoch). Returns -1 when it is neither. */
double sne_fetch_parse_retry_after(const char *value, double now_wall);

#endif
