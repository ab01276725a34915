/* inflate_zlib.c: inflate.h on zlib, the fallback where libisal is absent.
 *
 * zlib's raw inflate (no wrapper) decodes the deflate data; the CRC-32 (crc32_z) and length of
 * its output are kept here and compared with the 8-byte trailer, read here too, since a raw
 * stream leaves it to the caller. zlib's counts are `uInt`: longer buffers are fed in pieces. */
#include "inflate.h"

#include <zlib.h>

#include <limits.h>
#include <stdlib.h>

#define TRAILER_SIZE 8

const char sne_inflate_backend[] = "zlib";

struct sne_inflate {
    z_stream zs;
    int body_done;   /* the deflate data has ended: the trailer is being read */
    uint32_t crc;    /* CRC-32 of the output so far */
    uint32_t length; /* its length, mod 2^32 as in the trailer */
    uint8_t trailer[TRAILER_SIZE];
    unsigned trailer_len;
};

sne_inflate *sne_inflate_new(void)
{
    sne_inflate *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    if (inflateInit2(&z->zs, -MAX_WBITS) != Z_OK) { /* negative: raw deflate */
        free(z);
        return NULL;
    }
    sne_inflate_reset(z);
    return z;
}

void sne_inflate_reset(sne_inflate *z)
{
    inflateReset(&z->zs);
    z->body_done = 0;
    z->crc = (uint32_t)crc32_z(0, Z_NULL, 0);
    z->length = 0;
    z->trailer_len = 0;
}

static uInt piece(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

/* The deflate data: MORE, END once it is complete, BAD or NOMEM. */
static sne_inflate_status run_body(sne_inflate *z, const uint8_t **in, size_t *in_len,
                                   uint8_t **out, size_t *out_room)
{
    for (;;) {
        uInt in_piece = piece(*in_len), out_piece = piece(*out_room);
        z->zs.next_in = (Bytef *)(uintptr_t)*in; /* zlib does not write its input */
        z->zs.avail_in = in_piece;
        z->zs.next_out = *out;
        z->zs.avail_out = out_piece;
        int rc = inflate(&z->zs, Z_NO_FLUSH);
        size_t produced = out_piece - z->zs.avail_out;
        z->crc = (uint32_t)crc32_z(z->crc, *out, produced);
        z->length += (uint32_t)produced;
        *in_len -= in_piece - z->zs.avail_in;
        *in = z->zs.next_in;
        *out_room -= produced;
        *out = z->zs.next_out;
        if (rc == Z_STREAM_END)
            return SNE_INFLATE_END;
        if (rc == Z_MEM_ERROR)
            return SNE_INFLATE_NOMEM;
        if (rc != Z_OK && rc != Z_BUF_ERROR) /* Z_BUF_ERROR: no progress possible, not fatal */
            return SNE_INFLATE_BAD;
        if (*in_len == 0 || *out_room == 0 || (z->zs.avail_in != 0 && z->zs.avail_out != 0))
            return SNE_INFLATE_MORE;
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

sne_inflate_status sne_inflate_run(sne_inflate *z, const uint8_t **in, size_t *in_len,
                                   uint8_t **out, size_t *out_room)
{
    if (!z->body_done) {
        sne_inflate_status st = run_body(z, in, in_len, out, out_room);
        if (st != SNE_INFLATE_END)
            return st;
        z->body_done = 1;
    }
    while (z->trailer_len < TRAILER_SIZE && *in_len > 0) {
        z->trailer[z->trailer_len++] = **in;
        (*in)++;
        (*in_len)--;
    }
    if (z->trailer_len < TRAILER_SIZE)
        return SNE_INFLATE_MORE;
    if (le32(z->trailer) != z->crc || le32(z->trailer + 4) != z->length)
        return SNE_INFLATE_MISMATCH;
    return SNE_INFLATE_END;
}

void sne_inflate_free(sne_inflate *z)
{
    if (!z)
        return;
    inflateEnd(&z->zs);
    free(z);
}
