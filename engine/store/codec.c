/* codec.c: the values of the demand and change log databases (codec.h): demand headers, bodies,
 * change groups, and the zstd frames around bodies and groups. */
#include "codec.h"
#include "codec_bytes.h"

#include "../canon/canon.h"

#include <stdlib.h>
#include <string.h>

enum { CODEC_RAW = 0, CODEC_ZSTD = 1, CODEC_ZSTD_DICT = 2 };

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

sne_err sne_group_begin(sne_buf *out, const char *num, const char *numero, size_t numero_len,
                        const char *date, size_t date_len)
{
    sne_buf_reset(out);
    sne_err rc = sne_buf_append(out, num, SNE_NUM_UNIQUE_LEN);
    if (!rc)
        rc = put_short(out, numero, numero_len);
    if (!rc)
        rc = put_short(out, date, date_len);
    if (!rc)
        rc = put_u32(out, 0);
    return rc;
}

/* Offset of the count in a group: after numUnique and the two short strings. */
static size_t group_count_offset(const sne_buf *group)
{
    size_t off = SNE_NUM_UNIQUE_LEN;
    off += 1 + group->data[off];
    off += 1 + group->data[off];
    return off;
}

uint32_t sne_group_count(const sne_buf *group)
{
    return sne_get_u32le(group->data + group_count_offset(group));
}

sne_err sne_group_add(sne_buf *out, const sne_change_entry *e)
{
    uint8_t head[2] = {(uint8_t)e->op, (uint8_t)e->entity};
    sne_err rc = sne_buf_append(out, head, 2);
    if (!rc)
        rc = put_short(out, e->key, e->key_len);
    if (!rc)
        rc = put_u32(out, (uint32_t)e->before_len);
    if (!rc)
        rc = put_u32(out, (uint32_t)e->after_len);
    if (!rc)
        rc = sne_buf_append(out, e->before, e->before_len);
    if (!rc)
        rc = sne_buf_append(out, e->after, e->after_len);
    if (rc)
        return rc;
    sne_put_u32le(out->data + group_count_offset(out), sne_group_count(out) + 1);
    return SNE_OK;
}

sne_err sne_group_open(sne_group_reader *r, const uint8_t *raw, size_t n)
{
    reader rd = {raw, raw + n, false};
    memset(r, 0, sizeof(*r));
    const uint8_t *num = take(&rd, SNE_NUM_UNIQUE_LEN);
    r->numero_len = take_u8(&rd);
    r->numero = (const char *)take(&rd, r->numero_len);
    r->date_len = take_u8(&rd);
    r->date_export = (const char *)take(&rd, r->date_len);
    r->remaining = take_u32(&rd);
    if (rd.bad)
        return SNE_ERR_CORRUPT;
    memcpy(r->num_unique, num, SNE_NUM_UNIQUE_LEN);
    r->p = rd.p;
    r->end = rd.end;
    return SNE_OK;
}

int sne_group_next(sne_group_reader *r, sne_change_entry *e)
{
    if (r->remaining == 0)
        return r->p == r->end ? 0 : -1;
    reader rd = {r->p, r->end, false};
    memset(e, 0, sizeof(*e));
    uint8_t op = take_u8(&rd);
    uint8_t entity = take_u8(&rd);
    e->key_len = take_u8(&rd);
    e->key = (const char *)take(&rd, e->key_len);
    e->before_len = take_u32(&rd);
    e->after_len = take_u32(&rd);
    e->before = take(&rd, e->before_len);
    e->after = take(&rd, e->after_len);
    if (rd.bad || op < SNE_OP_CREATE || op > SNE_OP_DELETE || entity >= SNE_ENTITY__COUNT)
        return -1;
    e->op = (sne_op)op;
    e->entity = (sne_entity)entity;
    if (!e->before_len)
        e->before = NULL;
    if (!e->after_len)
        e->after = NULL;
    r->p = rd.p;
    r->remaining--;
    return 1;
}

sne_err sne_body_add(sne_buf *out, const uint8_t *canon, size_t n)
{
    sne_err rc = put_u32(out, (uint32_t)n);
    return rc ? rc : sne_buf_append(out, canon, n);
}

sne_err sne_body_split(const uint8_t *raw, size_t len, size_t n, const uint8_t **items,
                       size_t *lens)
{
    reader rd = {raw, raw + len, false};
    for (size_t i = 0; i < n; i++) {
        lens[i] = take_u32(&rd);
        items[i] = take(&rd, lens[i]);
        if (rd.bad)
            return SNE_ERR_CORRUPT;
    }
    return rd.p == rd.end ? SNE_OK : SNE_ERR_CORRUPT;
}

sne_err sne_frame_codec_init(sne_frame_codec *c, int level, size_t max_content)
{
    memset(c, 0, sizeof(*c));
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    c->level = level;
    c->max_content = max_content;
    if (!c->cctx || !c->dctx) {
        sne_frame_codec_free(c);
        return SNE_ERR_NOMEM;
    }
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
    return SNE_OK;
}

sne_err sne_frame_codec_load_dict(sne_frame_codec *c, const void *dict, size_t n)
{
    unsigned id = ZSTD_getDictID_fromDict(dict, n);
    if (id == 0)
        return SNE_ERR_CORRUPT;
    ZSTD_CDict *cdict = ZSTD_createCDict(dict, n, c->level);
    ZSTD_DDict *ddict = ZSTD_createDDict(dict, n);
    if (!cdict || !ddict || ZSTD_isError(ZSTD_CCtx_refCDict(c->cctx, cdict))) {
        ZSTD_freeCDict(cdict);
        ZSTD_freeDDict(ddict);
        return SNE_ERR_NOMEM;
    }
    ZSTD_freeCDict(c->cdict);
    ZSTD_freeDDict(c->ddict);
    c->cdict = cdict;
    c->ddict = ddict;
    c->dict_id = id;
    return SNE_OK;
}

void sne_frame_codec_free(sne_frame_codec *c)
{
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    ZSTD_freeCDict(c->cdict);
    ZSTD_freeDDict(c->ddict);
    memset(c, 0, sizeof(*c));
}

/* Below this size zstd's frame overhead eats the gain. */
#define SNE_COMPRESS_MIN 96

sne_err sne_frame_encode(sne_frame_codec *c, const uint8_t *content, size_t n, sne_buf *out)
{
    sne_buf_reset(out);
    if (n >= SNE_COMPRESS_MIN) {
        size_t bound = ZSTD_compressBound(n);
        sne_err rc = sne_buf_reserve(out, bound + 1);
        if (rc)
            return rc;
        /* With a dictionary loaded, the context references it (ZSTD_CCtx_refCDict). */
        size_t z = ZSTD_compress2(c->cctx, out->data + 1, bound, content, n);
        if (!ZSTD_isError(z) && z < n - n / 8) {
            out->data[0] = c->cdict ? CODEC_ZSTD_DICT : CODEC_ZSTD;
            out->len = z + 1;
            return SNE_OK;
        }
    }
    sne_err rc = sne_buf_append_byte(out, CODEC_RAW);
    return rc ? rc : sne_buf_append(out, content, n);
}

sne_err sne_frame_decode(sne_frame_codec *c, const uint8_t *frame, size_t n, sne_buf *out)
{
    sne_buf_reset(out);
    if (n < 1)
        return SNE_ERR_CORRUPT;
    if (frame[0] == CODEC_RAW)
        return sne_buf_append(out, frame + 1, n - 1);
    if (frame[0] != CODEC_ZSTD && frame[0] != CODEC_ZSTD_DICT)
        return SNE_ERR_CORRUPT;
    bool with_dict = frame[0] == CODEC_ZSTD_DICT;
    if (with_dict && (!c->ddict || ZSTD_getDictID_fromFrame(frame + 1, n - 1) != c->dict_id))
        return SNE_ERR_CORRUPT; /* made with a dictionary this store does not hold */
    unsigned long long size = ZSTD_getFrameContentSize(frame + 1, n - 1);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > c->max_content)
        return SNE_ERR_CORRUPT;
    sne_err rc = sne_buf_reserve(out, (size_t)size);
    if (rc)
        return rc;
    size_t got = with_dict
                     ? ZSTD_decompress_usingDDict(c->dctx, out->data, (size_t)size, frame + 1,
                                                  n - 1, c->ddict)
                     : ZSTD_decompressDCtx(c->dctx, out->data, (size_t)size, frame + 1, n - 1);
    if (ZSTD_isError(got) || got != size)
        return SNE_ERR_CORRUPT;
    out->len = got;
    out->data[got] = '\0';
    return SNE_OK;
}
