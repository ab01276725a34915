/* gunzip.c: gzip members, headers read here, bodies by inflate.h (see gunzip.h). */
#include "gunzip.h"

#include "inflate.h"

#include <stdlib.h>
#include <string.h>

#define FIXED_SIZE 10 /* magic (2), method, flags, mtime (4), extra flags, OS */
#define GZ_MAGIC0  0x1f
#define GZ_MAGIC1  0x8b
#define GZ_DEFLATE 8
#define F_EXTRA    0x04
#define F_NAME     0x08
#define F_COMMENT  0x10
#define F_HCRC     0x02
#define F_RESERVED 0xe0

/* Where in a member the next input byte belongs, in stream order. */
enum part {
    PART_FIXED,     /* the 10 fixed header bytes */
    PART_EXTRA_LEN, /* FEXTRA: its 2-byte length */
    PART_EXTRA,     /* FEXTRA: its bytes */
    PART_NAME,      /* FNAME: up to its NUL */
    PART_COMMENT,   /* FCOMMENT: up to its NUL */
    PART_HCRC,      /* FHCRC: 2 bytes */
    PART_BODY       /* inflate.h: deflate data and trailer */
};

struct sne_gunzip {
    sne_inflate *z; /* owned */
    enum part part;
    uint8_t field[FIXED_SIZE]; /* the fixed-size part being collected */
    size_t have;               /* bytes of it collected */
    uint8_t flags;             /* of the current member's header */
    size_t extra_left;         /* FEXTRA bytes still to skip */
    uint64_t members;          /* members complete */
    sne_gunzip_status status;  /* SNE_GUNZIP_MORE until the stream ends, for good */
    const char *message;
};

sne_gunzip *sne_gunzip_new(void)
{
    sne_gunzip *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->z = sne_inflate_new();
    if (!g->z) {
        free(g);
        return NULL;
    }
    g->part = PART_FIXED;
    g->status = SNE_GUNZIP_MORE;
    g->message = "";
    return g;
}

void sne_gunzip_free(sne_gunzip *g)
{
    if (!g)
        return;
    sne_inflate_free(g->z);
    free(g);
}

const char *sne_gunzip_message(const sne_gunzip *g)
{
    return g->message;
}

const char *sne_gunzip_backend(void)
{
    return sne_inflate_backend;
}

static sne_gunzip_status stop(sne_gunzip *g, sne_gunzip_status status, const char *message)
{
    g->status = status;
    g->message = message;
    return status;
}

static void consume(const uint8_t **in, size_t *in_len, size_t n)
{
    *in += n;
    *in_len -= n;
}

/* Collects bytes of a fixed-size part into g->field: 1 once it holds `size` bytes. */
static int collect(sne_gunzip *g, const uint8_t **in, size_t *in_len, size_t size)
{
    size_t n = size - g->have < *in_len ? size - g->have : *in_len;
    memcpy(g->field + g->have, *in, n);
    consume(in, in_len, n);
    g->have += n;
    return g->have == size;
}

/* Checks the fixed header bytes collected so far. Before the first member, anything but a gzip
 * header is not gzip; after a member, bytes without the magic are trailing data. */
static sne_gunzip_status check_fixed(sne_gunzip *g)
{
    int magic_ok = (g->have < 1 || g->field[0] == GZ_MAGIC0) &&
                   (g->have < 2 || g->field[1] == GZ_MAGIC1);
    int method_ok = (g->have < 3 || g->field[2] == GZ_DEFLATE) &&
                    (g->have < 4 || !(g->field[3] & F_RESERVED));
    if (g->members == 0 && !(magic_ok && method_ok))
        return stop(g, SNE_GUNZIP_NOT_GZIP, "");
    if (!magic_ok)
        return stop(g, SNE_GUNZIP_END, "");
    if (!method_ok)
        return stop(g, SNE_GUNZIP_CORRUPT, "a gzip member header after the first is invalid");
    return SNE_GUNZIP_MORE;
}

/* The header part after `done` that this member's flags call for. */
static enum part next_part(const sne_gunzip *g, enum part done)
{
    if (done == PART_EXTRA_LEN && g->extra_left > 0)
        return PART_EXTRA;
    if (done < PART_EXTRA_LEN && (g->flags & F_EXTRA))
        return PART_EXTRA_LEN;
    if (done < PART_NAME && (g->flags & F_NAME))
        return PART_NAME;
    if (done < PART_COMMENT && (g->flags & F_COMMENT))
        return PART_COMMENT;
    if (done < PART_HCRC && (g->flags & F_HCRC))
        return PART_HCRC;
    return PART_BODY;
}

/* Skips a NUL-terminated field: 1 once its NUL was consumed. */
static int skip_string(const uint8_t **in, size_t *in_len)
{
    const uint8_t *nul = memchr(*in, 0, *in_len);
    consume(in, in_len, nul ? (size_t)(nul - *in) + 1 : *in_len);
    return nul != NULL;
}

/* Reads header bytes until the input is used up or the body begins. */
static sne_gunzip_status read_header(sne_gunzip *g, const uint8_t **in, size_t *in_len)
{
    while (*in_len > 0 && g->part != PART_BODY) {
        int done = 0;
        switch (g->part) {
        case PART_FIXED:
            done = collect(g, in, in_len, FIXED_SIZE);
            if (check_fixed(g) != SNE_GUNZIP_MORE)
                return g->status;
            g->flags = g->field[3];
            break;
        case PART_EXTRA_LEN:
            done = collect(g, in, in_len, 2);
            g->extra_left = (size_t)g->field[0] | (size_t)g->field[1] << 8;
            break;
        case PART_EXTRA: {
            size_t n = g->extra_left < *in_len ? g->extra_left : *in_len;
            consume(in, in_len, n);
            g->extra_left -= n;
            done = g->extra_left == 0;
            break;
        }
        case PART_NAME:
        case PART_COMMENT:
            done = skip_string(in, in_len);
            break;
        case PART_HCRC:
            done = collect(g, in, in_len, 2);
            break;
        case PART_BODY:
            break;
        }
        if (done) {
            g->have = 0;
            g->part = next_part(g, g->part);
        }
    }
    return SNE_GUNZIP_MORE;
}

sne_gunzip_status sne_gunzip_step(sne_gunzip *g, const uint8_t **in, size_t *in_len, uint8_t *out,
                                  size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (g->status != SNE_GUNZIP_MORE)
        return g->status;
    if (g->part != PART_BODY && read_header(g, in, in_len) != SNE_GUNZIP_MORE)
        return g->status;
    if (g->part != PART_BODY)
        return SNE_GUNZIP_MORE; /* the input is used up inside a header */

    size_t in_before = *in_len, room = cap;
    uint8_t *o = out;
    sne_inflate_status st = sne_inflate_run(g->z, in, in_len, &o, &room);
    *out_len = cap - room;
    switch (st) {
    case SNE_INFLATE_MORE:
        if (*in_len > 0 && room > 0 && *in_len == in_before)
            return stop(g, SNE_GUNZIP_CORRUPT, "the inflate library stopped making progress");
        return SNE_GUNZIP_MORE;
    case SNE_INFLATE_END:
        g->members++;
        g->part = PART_FIXED;
        sne_inflate_reset(g->z);
        return SNE_GUNZIP_MORE;
    case SNE_INFLATE_BAD:
        return stop(g, SNE_GUNZIP_CORRUPT, "invalid compressed data in the gzip stream");
    case SNE_INFLATE_MISMATCH:
        return stop(g, SNE_GUNZIP_CORRUPT,
                    "CRC error: the gzip checksum or length does not match the decompressed data");
    case SNE_INFLATE_NOMEM:
        break;
    }
    return stop(g, SNE_GUNZIP_NOMEM, "out of memory for the gzip window");
}

sne_gunzip_status sne_gunzip_end_of_input(sne_gunzip *g)
{
    if (g->status != SNE_GUNZIP_MORE)
        return g->status;
    if (g->members == 0 && g->part == PART_FIXED && g->have == 0)
        return stop(g, SNE_GUNZIP_NOT_GZIP, "");
    /* after a member, a lone first magic byte cannot begin another: trailing data */
    if (g->members > 0 && g->part == PART_FIXED && g->have < 2)
        return stop(g, SNE_GUNZIP_END, "");
    return stop(g, SNE_GUNZIP_CORRUPT, "truncated: the gzip stream is cut short");
}
