/* fetch_retry.c: the attempts of one call (fetch_internal.h): what is retried, how long to wait
 * between two attempts (capped exponential backoff with jitter, never sooner than the server's
 * Retry-After) and when to give up. */
#include "fetch_internal.h"

#include <string.h>
#include <time.h>

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

/* The attempts a failure may take: max_attempts, fewer for a name that does not resolve. */
static unsigned attempts_for(const sne_fetch *f, long status)
{
    if (status < 0 && sne_fetch_dns_failure((CURLcode)-status) &&
        f->o.max_attempts > SNE_FETCH_DNS_ATTEMPTS)
        return SNE_FETCH_DNS_ATTEMPTS;
    return f->o.max_attempts;
}

/* Whether a failed download attempt moved the download on: a cut after some bytes is not a dead
 * server, but a trickle that the low-speed limit stopped is a failure, whatever it brought. */
static bool made_progress(const sne_fetch *f, const sne_fetch_call *c, const sne_fetch_attempt *a)
{
    if (!c->dl || c->dl->got == 0)
        return false;
    return !a->too_slow ||
           c->dl->got >= (uint64_t)f->o.low_speed_limit * (uint64_t)f->o.low_speed_time;
}

/* The error that ends the call after its last attempt (`status` as sne_fetch_attempt has it):
 * SNE_ERR_HTTP when the server answered, SNE_ERR_NETWORK with the CURLcode otherwise. After
 * `failures` transient failures, the message says how many. */
static sne_err give_up(sne_error *err, long status, const char *why, unsigned failures)
{
    sne_err code = status > 0 ? SNE_ERR_HTTP : SNE_ERR_NETWORK;
    int lib_code = status > 0 ? (int)status : status < 0 ? (int)-status : 0;
    if (failures == 0)
        return sne_error_set(err, code, lib_code, "%s", why);
    return sne_error_set(err, code, lib_code, "%s (still failing after %u attempt%s)", why,
                         failures, failures > 1 ? "s" : "");
}

/* Hands a successful attempt's body to the caller (or frees it). */
static void hand_body(sne_fetch_attempt *a, sne_buf *body)
{
    if (body) {
        sne_buf_free(body);
        *body = a->body;
    } else {
        sne_buf_free(&a->body);
    }
}

sne_err sne_fetch_call_run(sne_fetch *f, sne_fetch_call *c, sne_buf *body, sne_error *err)
{
    char why[sizeof(err->message)] = "";
    unsigned failures = 0; /* consecutive attempts without progress */
    memset(&f->stats, 0, sizeof(f->stats));
    c->retry_after = 0;
    for (;;) {
        if (sne_fetch_cancelled(f))
            return sne_error_set(err, SNE_ERR_NETWORK, 0, "%s: cancelled", c->what);
        sne_fetch_attempt a = {.f = f, .dl = c->dl, .err = err};
        sne_buf_init(&a.body, c->body_max ? c->body_max : SNE_JSON_MAX_INPUT);
        f->stats.attempts++;
        if (f->stats.attempts > 1) /* the loop comes back only after a transient failure */
            f->retries++;
        sne_fetch_outcome out = sne_fetch_attempt_once(f, c, &a, why, sizeof(why));
        double ra =
            a.retry_after[0] ? sne_fetch_parse_retry_after(a.retry_after, (double)time(NULL)) : -1;
        if (out == SNE_FETCH_OK) {
            c->retry_after = ra > 0 ? ra : 0;
            hand_body(&a, body);
            return SNE_OK;
        }
        sne_buf_free(&a.body);
        if (out == SNE_FETCH_SINK)
            return c->dl->stop;
        if (out == SNE_FETCH_FINAL)
            return give_up(err, a.status, why, 0);
        if (made_progress(f, c, &a))
            failures = 0;
        failures++;
        if (failures >= attempts_for(f, a.status))
            return give_up(err, a.status, why, failures);
        double wait = sne_fetch_backoff(failures, f->o.backoff_base, f->o.backoff_cap,
                                        sne_fetch_next_random(f));
        if (ra > f->o.max_retry_after)
            return sne_error_set(err, SNE_ERR_HTTP, (int)a.status,
                                 "%s (the server asks to come back in %.0f s)", why, ra);
        if (ra > wait)
            wait = ra; /* never sooner than the server asked */
        f->stats.waited += wait;
        sne_fetch_wait(f, wait);
    }
}
