/* codec_bytes.h: the bounds-checked reading and the little-endian writing the codec's files
 * (codec.c, codec_meta.c) share. Not for use outside them. */
#ifndef SNE_CODEC_BYTES_H
#define SNE_CODEC_BYTES_H

#include "codec.h"

/* A reader over one value. A read past the end sets `bad` and gives NULL or 0; every later read
 * does the same, so a decoder checks `bad` once, after the reads that belong together. */
typedef struct reader {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} reader;

/* The next `n` bytes, borrowed from the value; NULL when fewer are left. */
static inline const uint8_t *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

static inline uint8_t take_u8(reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

static inline uint32_t take_u32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? sne_get_u32le(p) : 0;
}

static inline uint64_t take_u64(reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? sne_get_u64le(p) : 0;
}

static inline sne_err put_u32(sne_buf *b, uint32_t v)
{
    uint8_t le[4];
    sne_put_u32le(le, v);
    return sne_buf_append(b, le, 4);
}

static inline sne_err put_u64(sne_buf *b, uint64_t v)
{
    uint8_t le[8];
    sne_put_u64le(le, v);
    return sne_buf_append(b, le, 8);
}

#endif
