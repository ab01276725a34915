#include "codec.h"

#include "../canon/canon.h"

#include <stdlib.h>
#include <string.h>

enum { CODEC_RAW = 0, CODEC_ZSTD = 1 };

/* A bounds-checked reader over one value. */
typedef struct reader {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

static uint8_t take_u8(reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

static uint32_t take_u32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static sne_err put_u32(sne_buf *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return sne_buf_append(b, le, 4);
}

/* u8 length then bytes; the length must fit. */
static sne_err put_short(sne_buf *b, const void *s, size_t n)
{
    if (n > 255)
        return SNE_ERR_LIMIT;
    sne_err rc = sne_buf_append_byte(b, (uint8_t)n);
    return rc ? rc : sne_buf_append(b, s, n);
}

void sne_header_scratch_free(sne_header_scratch *s)
{
    free(s->items);
    s->items = NULL;
    s->alloc = 0;
}

sne_err sne_header_decode(const uint8_t *v, size_t n, sne_header_scratch *scratch, sne_header *h)
{
    reader r = {v, v + n, false};
    memset(h, 0, sizeof(*h));
    if (take_u8(&r) != SNE_HEADER_VERSION)
        return SNE_ERR_CORRUPT;
    h->radiee = take_u8(&r) & 1;
    h->date_len = take_u8(&r);
    h->date_modification = (const char *)take(&r, h->date_len);
    h->n_communes = take_u8(&r);
    h->communes = (const char *)take(&r, h->n_communes * SNE_COMMUNE_LEN);
    uint32_t count = take_u32(&r);
    if (r.bad || count > (size_t)(r.end - r.p) / 10) /* an item takes at least 10 bytes */
        return SNE_ERR_CORRUPT;
    if (count > scratch->alloc) {
        sne_item_ref *items = realloc(scratch->items, count * sizeof(*items));
        if (!items)
            return SNE_ERR_NOMEM;
        scratch->items = items;
        scratch->alloc = count;
    }
    for (uint32_t i = 0; i < count; i++) {
        sne_item_ref *it = &scratch->items[i];
        uint8_t entity = take_u8(&r);
        it->key_len = take_u8(&r);
        it->key = (const char *)take(&r, it->key_len);
        const uint8_t *hash = take(&r, 8);
        if (r.bad || entity >= SNE_ENTITY__COUNT)
            return SNE_ERR_CORRUPT;
        it->entity = (sne_entity)entity;
        it->hash = sne_get_u64le(hash);
    }
    if (r.bad || r.p != r.end)
        return SNE_ERR_CORRUPT;
    h->items = scratch->items;
    h->n_items = count;
    return SNE_OK;
}

sne_err sne_header_encode(const sne_header *h, sne_buf *out)
{
    sne_err rc = sne_buf_append_byte(out, SNE_HEADER_VERSION);
    if (!rc)
        rc = sne_buf_append_byte(out, h->radiee ? 1 : 0);
    if (!rc)
        rc = put_short(out, h->date_modification, h->date_len);
    if (!rc)
        rc = sne_buf_append_byte(out, (uint8_t)h->n_communes);
    if (!rc)
        rc = sne_buf_append(out, h->communes, h->n_communes * SNE_COMMUNE_LEN);
    if (!rc)
        rc = put_u32(out, (uint32_t)h->n_items);
    for (size_t i = 0; !rc && i < h->n_items; i++) {
        const sne_item_ref *it = &h->items[i];
        uint8_t hash[8];
        sne_put_u64le(hash, it->hash);
        rc = sne_buf_append_byte(out, (uint8_t)it->entity);
        if (!rc)
            rc = put_short(out, it->key, it->key_len);
        if (!rc)
            rc = sne_buf_append(out, hash, 8);
    }
    return rc;
}

const char *sne_op_name(sne_op op)
{
    switch (op) {
    case SNE_OP_CREATE:
        return "create";
    case SNE_OP_UPDATE:
        return "update";
    case SNE_OP_DELETE:
        return "delete";
    }
    return "?";
}

sne_err sne_change_encode(const sne_change_record *c, sne_buf *out)
{
    sne_err rc = sne_buf_append_byte(out, (uint8_t)c->op);
    if (!rc)
        rc = sne_buf_append_byte(out, (uint8_t)c->entity);
    if (!rc)
        rc = sne_buf_append(out, c->num_unique, SNE_NUM_UNIQUE_LEN);
    if (!rc)
        rc = put_short(out, c->key, c->key_len);
    if (!rc)
        rc = put_short(out, c->numero, c->numero_len);
    if (!rc)
        rc = put_short(out, c->date_export, c->date_len);
    if (!rc)
        rc = put_u32(out, (uint32_t)c->before_len);
    if (!rc)
        rc = sne_buf_append(out, c->before, c->before_len);
    if (!rc)
        rc = put_u32(out, (uint32_t)c->after_len);
    if (!rc)
        rc = sne_buf_append(out, c->after, c->after_len);
    return rc;
}

sne_err sne_change_decode(const uint8_t *v, size_t n, sne_change_record *c)
{
    reader r = {v, v + n, false};
    memset(c, 0, sizeof(*c));
    uint8_t op = take_u8(&r);
    uint8_t entity = take_u8(&r);
    const uint8_t *num = take(&r, SNE_NUM_UNIQUE_LEN);
    c->key_len = take_u8(&r);
    c->key = (const char *)take(&r, c->key_len);
    c->numero_len = take_u8(&r);
    c->numero = (const char *)take(&r, c->numero_len);
    c->date_len = take_u8(&r);
    c->date_export = (const char *)take(&r, c->date_len);
    c->before_len = take_u32(&r);
    c->before = take(&r, c->before_len);
    c->after_len = take_u32(&r);
    c->after = take(&r, c->after_len);
    if (r.bad || r.p != r.end || op < SNE_OP_CREATE || op > SNE_OP_DELETE ||
        entity >= SNE_ENTITY__COUNT)
        return SNE_ERR_CORRUPT;
    c->op = (sne_op)op;
    c->entity = (sne_entity)entity;
    memcpy(c->num_unique, num, SNE_NUM_UNIQUE_LEN);
    c->num_unique[SNE_NUM_UNIQUE_LEN] = '\0';
    if (!c->before_len)
        c->before = NULL;
    if (!c->after_len)
        c->after = NULL;
    return SNE_OK;
}

sne_err sne_body_codec_init(sne_body_codec *c, int level, size_t max_item)
{
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    c->level = level;
    c->max_item = max_item;
    if (!c->cctx || !c->dctx) {
        sne_body_codec_free(c);
        return SNE_ERR_NOMEM;
    }
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
    return SNE_OK;
}

void sne_body_codec_free(sne_body_codec *c)
{
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    c->cctx = NULL;
    c->dctx = NULL;
}

/* Below this size zstd's frame overhead eats the gain. */
#define SNE_COMPRESS_MIN 96

sne_err sne_body_encode(sne_body_codec *c, const uint8_t *canon, size_t n, sne_buf *out)
{
    sne_buf_reset(out);
    if (n >= SNE_COMPRESS_MIN) {
        size_t bound = ZSTD_compressBound(n);
        sne_err rc = sne_buf_reserve(out, bound + 1);
        if (rc)
            return rc;
        size_t z = ZSTD_compress2(c->cctx, out->data + 1, bound, canon, n);
        if (!ZSTD_isError(z) && z < n - n / 8) {
            out->data[0] = CODEC_ZSTD;
            out->len = z + 1;
            return SNE_OK;
        }
    }
    sne_err rc = sne_buf_append_byte(out, CODEC_RAW);
    return rc ? rc : sne_buf_append(out, canon, n);
}

sne_err sne_body_decode(sne_body_codec *c, const uint8_t *body, size_t n, sne_buf *out)
{
    sne_buf_reset(out);
    if (n < 1)
        return SNE_ERR_CORRUPT;
    if (body[0] == CODEC_RAW)
        return sne_buf_append(out, body + 1, n - 1);
    if (body[0] != CODEC_ZSTD)
        return SNE_ERR_CORRUPT;
    unsigned long long size = ZSTD_getFrameContentSize(body + 1, n - 1);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > c->max_item)
        return SNE_ERR_CORRUPT;
    sne_err rc = sne_buf_reserve(out, (size_t)size);
    if (rc)
        return rc;
    size_t got = ZSTD_decompressDCtx(c->dctx, out->data, (size_t)size, body + 1, n - 1);
    if (ZSTD_isError(got) || got != size)
        return SNE_ERR_CORRUPT;
    out->len = got;
    out->data[got] = '\0';
    return SNE_OK;
}
