/* serve_reply.c: see serve_reply.h. */
#include "serve_reply.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_base.h"

sne_err serve_json_string(sne_buf *b, const char *s)
{
    return sne_buf_append_json_string(b, (const uint8_t *)s, strlen(s));
}

/* A body shaped by the faults trickle@MS (one byte every `ms` milliseconds) and cut@BYTES (the
 * connection closed after `stop` bytes of the `len` announced). */
typedef struct shaped_body {
    size_t len, stop;
    unsigned ms;
    char data[];
} shaped_body;

static ssize_t read_shaped(void *cls, uint64_t pos, char *buf, size_t max)
{
    shaped_body *t = cls;
    if (pos >= t->stop)
        return pos >= t->len ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    if (max == 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->stop - (size_t)pos < max ? t->stop - (size_t)pos : max;
    if (t->ms > 0) {
        if (serve_trickle_wait(t->ms) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        n = 1;
    }
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static struct MHD_Response *shaped_response(const char *body, size_t len, const serve_exchange *x)
{
    shaped_body *t = malloc(sizeof(*t) + len);
    if (t == NULL)
        return NULL;
    t->len = len;
    t->stop = x->cut && x->cut_at < len ? x->cut_at : len;
    t->ms = x->trickle_ms;
    memcpy(t->data, body, len);
    struct MHD_Response *r =
        MHD_create_response_from_callback(len, 64 * 1024, read_shaped, t, free);
    if (r == NULL)
        free(t);
    return r;
}

enum MHD_Result serve_reply(serve_exchange *x, unsigned status, const char *ctype, const char *body,
                            size_t len, unsigned retry_after, const char *hname, const char *hvalue)
{
    struct MHD_Response *r;
    if ((x->trickle_ms > 0 || x->cut) && len > 0)
        r = shaped_response(body, len, x);
    else
        r = MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    x->trickle_ms = 0;
    x->cut = 0;
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
    enum MHD_Result ret = MHD_queue_response(x->conn, status, r);
    MHD_destroy_response(r);
    x->status = status;
    return ret;
}

enum MHD_Result serve_problem(serve_exchange *x, unsigned status, unsigned retry_after,
                              const char *detail)
{
    return serve_problem_ex(x, status, retry_after, detail, NULL, NULL);
}

enum MHD_Result serve_problem_ex(serve_exchange *x, unsigned status, unsigned retry_after,
                                 const char *detail, const char *hname, const char *hvalue)
{
    static const char ctype[] = "application/problem+json";
    const char *title = MHD_get_reason_phrase_for(status);
    sne_buf b;
    sne_buf_init(&b, 4096);
    sne_err rc = sne_buf_append_str(&b, "{\"type\":\"about:blank\",\"title\":");
    if (!rc)
        rc = serve_json_string(&b, title);
    if (!rc)
        rc = sne_buf_printf(&b, ",\"status\":%u", status);
    if (!rc && detail != NULL)
        rc = sne_buf_append_str(&b, ",\"detail\":");
    if (!rc && detail != NULL)
        rc = serve_json_string(&b, detail);
    if (!rc)
        rc = sne_buf_append_byte(&b, '}');
    enum MHD_Result ret;
    if (rc)
        ret = serve_reply(x, status, ctype, "{}", 2, retry_after, hname, hvalue);
    else
        ret =
            serve_reply(x, status, ctype, (const char *)b.data, b.len, retry_after, hname, hvalue);
    sne_buf_free(&b);
    return ret;
}

enum MHD_Result serve_html_page(serve_exchange *x)
{
    static const char page[] =
        "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\n"
        "<body><h1>Service temporarily unavailable</h1><p>Please retry later.</p></body>"
        "</html>\n";
    return serve_reply(x, 200, "text/html; charset=utf-8", page, sizeof(page) - 1, 0, NULL, NULL);
}
