/* fetch_download.c: the archive's bytes inside one download attempt (fetch_internal.h). Every
 * byte is checked before the sink sees it: the answer is 200/206 of an archive type (or none),
 * starts with the gzip magic at offset 0, its ETag is the announced sha256, a 206's Content-Range
 * starts where asked and has the announced total, and no byte goes past the announced size. A
 * 200 to a Range request is accepted by dropping the bytes already held. */
#include "fetch_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void sne_fetch_download_restart(sne_fetch_download_state *d)
{
    d->checked = d->to_sink = d->not_archive = false;
    d->skip = d->pos = d->got = 0;
    d->stop = SNE_OK;
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
static bool check_download(sne_fetch_attempt *a)
{
    sne_fetch_download_state *d = a->dl;
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

/* Whether the byte at absolute offset `pos` of the body may begin a gzip (1f 8b). */
static bool fits_gzip_magic(uint64_t pos, unsigned char byte)
{
    return pos >= 2 || byte == (pos == 0 ? 0x1f : 0x8b);
}

/* Drops the first body bytes of a 200 answer to a Range request (those already held), still
 * checking that they begin a gzip. Returns the bytes dropped, or -1 when it is not the archive. */
static ptrdiff_t skip_held(sne_fetch_download_state *d, const char *p, size_t n)
{
    size_t k = d->skip < n ? (size_t)d->skip : n;
    for (size_t i = 0; i < k; i++, d->pos++)
        if (!fits_gzip_magic(d->pos, (unsigned char)p[i])) {
            d->not_archive = true;
            return -1;
        }
    d->skip -= k;
    return (ptrdiff_t)k;
}

size_t sne_fetch_download_body(sne_fetch_attempt *a, const char *data, size_t n)
{
    sne_fetch_download_state *d = a->dl;
    if (!d->checked && !check_download(a))
        return 0;
    if (!d->to_sink)
        return sne_fetch_keep_body(a, data, n);
    const char *p = data;
    size_t left = n;
    if (d->skip > 0) {
        ptrdiff_t k = skip_held(d, p, left);
        if (k < 0)
            return 0;
        p += k;
        left -= (size_t)k;
    }
    if (left == 0)
        return n;
    for (size_t i = 0; d->pos + i < 2 && i < left; i++)
        if (!fits_gzip_magic(d->pos + i, (unsigned char)p[i])) {
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
