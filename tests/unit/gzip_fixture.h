/* gzip_fixture.h: gzip streams made with zlib for the tests of the gzip layer (test_gunzip.c,
 * test_unpack.c): members with or without the optional header fields, concatenated. */
#ifndef SNE_GZIP_FIXTURE_H
#define SNE_GZIP_FIXTURE_H

#include <zlib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gz_bytes {
    uint8_t *p;
    size_t len;
} gz_bytes;

/* Appends to `b` one gzip member holding data[0..n); with `fields`, its header has an extra
 * field, a name, a comment and a header CRC. Returns 0, or -1 when zlib fails. */
static int gz_append_member(gz_bytes *b, const void *data, size_t n, int fields)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    static uint8_t extra[] = {'S', 'N', 4, 0, 'a', 'b', 'c', 'd'}; /* one subfield, 4 bytes */
    static char name[] = "EXPORT_X.tar", comment[] = "made by the tests";
    gz_header h;
    memset(&h, 0, sizeof(h));
    h.extra = extra;
    h.extra_len = sizeof(extra);
    h.name = (Bytef *)name;
    h.comment = (Bytef *)comment;
    h.hcrc = 1;
    if (fields && deflateSetHeader(&zs, &h) != Z_OK) {
        deflateEnd(&zs);
        return -1;
    }
    size_t cap = deflateBound(&zs, (uLong)n) + 256;
    uint8_t *grown = realloc(b->p, b->len + cap);
    if (!grown) {
        deflateEnd(&zs);
        return -1;
    }
    b->p = grown;
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = b->p + b->len;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    b->len += cap - zs.avail_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* data[0..n) as gzip members cut at cuts[0..count) (increasing offsets into data). */
static gz_bytes gz_members(const void *data, size_t n, const size_t *cuts, size_t count,
                           int fields)
{
    gz_bytes b = {NULL, 0};
    size_t from = 0;
    for (size_t i = 0; i <= count; i++) {
        size_t to = i < count ? cuts[i] : n;
        if (gz_append_member(&b, (const uint8_t *)data + from, to - from, fields) != 0) {
            free(b.p);
            return (gz_bytes){NULL, 0};
        }
        from = to;
    }
    return b;
}

#endif
