/* serve_http.c: replies, capped buffers, logging and time helpers shared by the serve modules. */
#include "serve_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void serve_buf_init(serve_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void serve_buf_free(serve_buf *b)
{
    if (b == NULL)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void serve_buf_add(serve_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->max) {
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void serve_buf_str(serve_buf *b, const char *s)
{
    serve_buf_add(b, s, strlen(s));
}

void serve_buf_printf(serve_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->failed = 1;
        return;
    }
    serve_buf_add(b, tmp, (size_t)n);
}

void serve_buf_json(serve_buf *b, const char *s)
{
    serve_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            serve_buf_add(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            serve_buf_add(b, esc, 6);
        } else {
            serve_buf_add(b, (const char *)p, 1);
        }
    }
    serve_buf_add(b, "\"", 1);
}

static _Thread_local unsigned last_status;
static _Thread_local unsigned trickle_ms;
static atomic_int stopping;

void serve_set_stopping(void)
{
    atomic_store(&stopping, 1);
}

int serve_trickle_wait(unsigned ms)
{
    double until = serve_now() + ms / 1000.0;
    for (;;) {
        if (atomic_load(&stopping))
            return -1;
        double left = until - serve_now();
        if (left <= 0)
            return 0;
        serve_sleep(left < 0.05 ? left : 0.05);
    }
}

void serve_reply_trickle(unsigned ms)
{
    trickle_ms = ms;
}

typedef struct trickle_body {
    size_t len;
    unsigned ms;
    char data[];
} trickle_body;

static ssize_t read_trickle(void *cls, uint64_t pos, char *buf, size_t max)
{
    trickle_body *t = cls;
    if (pos >= t->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max == 0 || serve_trickle_wait(t->ms) != 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    buf[0] = t->data[pos];
    return 1;
}

unsigned serve_last_status(void)
{
    return last_status;
}

void serve_last_status_reset(void)
{
    last_status = 0;
}

void serve_reply_note_status(unsigned status)
{
    last_status = status;
}

enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                            const char *body, size_t len, unsigned retry_after,
                            const char *location)
{
    return serve_reply_ex(c, status, ctype, body, len, retry_after,
                          location ? MHD_HTTP_HEADER_LOCATION : NULL, location);
}

enum MHD_Result serve_reply_ex(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *body, size_t len, unsigned retry_after,
                               const char *hname, const char *hvalue)
{
    struct MHD_Response *r;
    if (trickle_ms > 0 && len > 0) {
        trickle_body *t = malloc(sizeof(*t) + len);
        if (t == NULL)
            return MHD_NO;
        t->len = len;
        t->ms = trickle_ms;
        memcpy(t->data, body, len);
        r = MHD_create_response_from_callback(len, 1, read_trickle, t, free);
        if (r == NULL)
            free(t);
    } else {
        r = MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    }
    trickle_ms = 0;
    if (r == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%u", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    last_status = status;
    return ret;
}

enum MHD_Result serve_problem(struct MHD_Connection *c, unsigned status, unsigned retry_after,
                              const char *detail)
{
    return serve_problem_ex(c, status, retry_after, detail, NULL, NULL);
}

enum MHD_Result serve_problem_ex(struct MHD_Connection *c, unsigned status, unsigned retry_after,
                                 const char *detail, const char *hname, const char *hvalue)
{
    serve_buf b;
    serve_buf_init(&b, 4096);
    serve_buf_str(&b, "{\"type\":\"about:blank\",\"title\":");
    serve_buf_json(&b, MHD_get_reason_phrase_for(status));
    serve_buf_printf(&b, ",\"status\":%u", status);
    if (detail != NULL) {
        serve_buf_str(&b, ",\"detail\":");
        serve_buf_json(&b, detail);
    }
    serve_buf_str(&b, "}");
    enum MHD_Result ret;
    if (b.failed)
        ret = serve_reply_ex(c, status, "application/problem+json", "{}", 2, retry_after, hname,
                             hvalue);
    else
        ret = serve_reply_ex(c, status, "application/problem+json", b.p, b.len, retry_after, hname,
                             hvalue);
    serve_buf_free(&b);
    return ret;
}

enum MHD_Result serve_html_page(struct MHD_Connection *c)
{
    static const char page[] =
        "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\n"
        "<body><h1>Service temporarily unavailable</h1><p>Please retry later.</p></body>"
        "</html>\n";
    return serve_reply(c, 200, "text/html; charset=utf-8", page, sizeof(page) - 1, 0, NULL);
}

void serve_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "snesync-sim serve: %s\n", line);
}

double serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void serve_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int serve_time_parse(const char *s, int64_t *epoch_ms)
{
    int y, mo, d, h, mi, se, ms = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || *p++ != 'T' || digits(&p, 2, &h) || *p++ != ':' ||
        digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        int scale = 100;
        while (isdigit((unsigned char)*p)) {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 14 || om > 59)
            return -1;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *epoch_ms = ((int64_t)t - offset_s) * 1000 + ms;
    return 0;
}

void serve_time_format(int64_t epoch_s, char out[32])
{
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
