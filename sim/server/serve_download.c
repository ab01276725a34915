/* serve_download.c: streaming an export archive with Range support and body faults. */
#include "serve_download.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_base.h"

#define BLOCK_SIZE (64 * 1024)

typedef struct body {
    int fd;
    uint64_t offset;     /* file offset of the first byte sent */
    uint64_t length;     /* bytes announced */
    uint64_t cut;        /* bytes sent before closing (UINT64_MAX: none) */
    unsigned trickle_ms; /* one byte every trickle_ms (0: full speed) */
} body;

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    body *b = cls;
    if (pos >= b->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    uint64_t left = b->length - pos;
    if (b->cut - pos < left)
        left = b->cut - pos;
    if (left == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max < left ? max : (size_t)left;
    if (b->trickle_ms > 0) {
        if (serve_trickle_wait(b->trickle_ms) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        n = 1;
    }
    ssize_t got;
    do
        got = pread(b->fd, buf, n, (off_t)(b->offset + pos));
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return got;
}

static void free_body(void *cls)
{
    body *b = cls;
    close(b->fd);
    free(b);
}

static int parse_u64(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    if (!isdigit((unsigned char)**p))
        return -1;
    while (isdigit((unsigned char)**p)) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/* Parses a single byte range. Returns 1 with [*first, *last] set, 0 when the header is to be
 * ignored (absent, malformed, several ranges: RFC 9110 allows serving the whole file), -1 when
 * it is unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (h == NULL || strncmp(h, "bytes=", 6) != 0)
        return 0;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    uint64_t a = 0, z = 0;
    int has_a = 0, has_z = 0;
    if (isdigit((unsigned char)*p)) {
        if (parse_u64(&p, &a))
            return 0;
        has_a = 1;
    }
    if (*p++ != '-')
        return 0;
    if (isdigit((unsigned char)*p)) {
        if (parse_u64(&p, &z))
            return 0;
        has_z = 1;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || (!has_a && !has_z) || (has_a && has_z && z < a))
        return 0;
    if (!has_a) { /* suffix: the last z bytes */
        if (z == 0 || size == 0)
            return -1;
        *first = z >= size ? 0 : size - z;
        *last = size - 1;
        return 1;
    }
    if (a >= size)
        return -1;
    *first = a;
    *last = has_z && z < size ? z : size - 1;
    return 1;
}

/* Opens the archive of export id, or queues the answer saying why not (*ret). */
static int open_file(serve_exports *x, serve_exchange *ex, const char *id, serve_export_file *f,
                     enum MHD_Result *ret)
{
    switch (serve_exports_open_file(x, id, f)) {
    case SERVE_FILE_OK:
        return 0;
    case SERVE_FILE_UNKNOWN:
        *ret = serve_problem(ex, 404, 0, "unknown export");
        break;
    case SERVE_FILE_NOT_READY:
        *ret = serve_problem(ex, 409, 0, "the export is not TERMINE");
        break;
    case SERVE_FILE_GONE:
        *ret = serve_problem(ex, 410, 0, "the export has expired");
        break;
    default:
        *ret = serve_problem(ex, 500, 0, "the export file cannot be read");
        break;
    }
    return -1;
}

/* The file-body faults: how the body is cut, lengthened, shortened or slowed down. Returns the
 * Content-Length to announce. */
static uint64_t body_fault(const serve_fault *fault, body *b, const char *id)
{
    uint64_t announced = b->length;
    if (fault->action == SERVE_FA_CUT) {
        b->cut = fault->arg;
        serve_log("export %s: fault cut@%" PRIu64 " injected", id, fault->arg);
    } else if (fault->action == SERVE_FA_LONGER) {
        uint64_t more = fault->arg ? fault->arg : 1;
        announced = b->length + more;
        b->cut = b->length; /* the whole body, then the connection is closed */
        serve_log("export %s: fault longer@%" PRIu64 " injected", id, more);
    } else if (fault->action == SERVE_FA_SHORTER) {
        uint64_t less = fault->arg ? fault->arg : (b->length + 1) / 2;
        announced = less < b->length ? b->length - less : 0;
        b->length = announced;
        serve_log("export %s: fault shorter@%" PRIu64 " injected", id, less);
    } else if (fault->action == SERVE_FA_TRICKLE) {
        b->trickle_ms = fault->arg ? (unsigned)fault->arg : 1000;
        serve_log("export %s: fault trickle@%u injected", id, b->trickle_ms);
    }
    return announced;
}

/* The part of the file answered: all of it, or bytes [first, last] (206). */
typedef struct span {
    int partial;
    uint64_t first, last, size;
} span;

/* Queues the body b (owned: freed with the response) of span sp. */
static enum MHD_Result queue_body(serve_exchange *ex, body *b, uint64_t announced, const char *etag,
                                  const span *sp)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        announced, b->trickle_ms ? 1 : BLOCK_SIZE, read_body, b, free_body);
    if (r == NULL) {
        free_body(b);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/gzip");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    unsigned status = 200;
    if (sp->partial) {
        char crange[96];
        status = 206;
        snprintf(crange, sizeof(crange), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, sp->first,
                 sp->last, sp->size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
    }
    enum MHD_Result ret = MHD_queue_response(ex->conn, status, r);
    MHD_destroy_response(r);
    ex->status = status;
    return ret;
}

enum MHD_Result serve_download(serve_exports *x, serve_faults *faults, serve_exchange *ex,
                               const char *id)
{
    serve_export_file f;
    enum MHD_Result ret;
    if (open_file(x, ex, id, &f, &ret) != 0)
        return ret;
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%s\"", f.sha256);
    span sp = {0, 0, f.size ? f.size - 1 : 0, f.size};
    const char *range =
        MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    const char *if_range =
        MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
    if (range != NULL && (if_range == NULL || strcmp(if_range, etag) == 0))
        sp.partial = parse_range(range, f.size, &sp.first, &sp.last);
    if (sp.partial < 0) {
        char crange[96];
        close(f.fd);
        snprintf(crange, sizeof(crange), "bytes */%" PRIu64, f.size);
        return serve_problem_ex(ex, 416, 0, "the range is beyond the end of the file",
                                MHD_HTTP_HEADER_CONTENT_RANGE, crange);
    }
    serve_fault fault = serve_faults_take(faults, SERVE_PT_FILE, SERVE_FM_BODY);
    if (fault.action == SERVE_FA_NOTGZIP) {
        close(f.fd);
        serve_log("export %s: fault notgzip injected", id);
        return serve_html_page(ex);
    }
    body *b = malloc(sizeof(*b));
    if (b == NULL) {
        close(f.fd);
        return serve_problem(ex, 503, 1, "out of memory");
    }
    *b = (body){f.fd, sp.first, f.size ? sp.last - sp.first + 1 : 0, UINT64_MAX, 0};
    uint64_t announced = body_fault(&fault, b, id);
    return queue_body(ex, b, announced, etag, &sp);
}
