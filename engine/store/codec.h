/* codec.h: the byte layouts of the values snesync keeps in LMDB.
 *
 * demand header (DB "demand", key numUnique): what a resync needs to decide, without touching any
 * item body, whether anything changed and whether the demand is in an export's scope:
 *     u8 version=1 | u8 flags (bit 0: RADIEE) | u8 n, date of last modification (n bytes)
 *     | u8 n_communes, n_communes x 5 bytes (sought communes of the last CERFA)
 *     | u32 n_items, n_items x (u8 entity | u8 key_len | key | u64 hash)     items sorted by (entity, key)
 * item body (DB "item", key numUnique | u8 entity | key): u8 codec (0 raw, 1 zstd) | payload; the
 *     payload decodes to the canonical form (canon.h).
 * change record (DB "change", key u64 big-endian seq):
 *     u8 op | u8 entity | 18 bytes numUnique | u8 key_len | key | u8 n, numeroExport | u8 n, dateExport
 *     | u32 n, before body | u32 n, after body          (a body of length 0 means null)
 * Integers are little-endian. Decoders check every length against the value's size and fail
 * with SNE_ERR_CORRUPT rather than read past it. */
#ifndef SNE_CODEC_H
#define SNE_CODEC_H

#include "../common/buffer.h"
#include "../common/schema.h"
#include "../parse/parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <zstd.h>

#define SNE_HEADER_VERSION 1

/* An item reference in a decoded header; `key` borrows from the decoded value. */
typedef struct sne_item_ref {
    sne_entity entity;
    const char *key;
    size_t key_len;
    uint64_t hash;
} sne_item_ref;

/* A decoded demand header. Pointers borrow from the bytes it was decoded from. */
typedef struct sne_header {
    bool radiee;
    const char *date_modification;
    size_t date_len;
    size_t n_communes;
    const char *communes; /* n_communes x SNE_COMMUNE_LEN bytes, not NUL-terminated */
    size_t n_items;
    sne_item_ref *items; /* owned by the caller's sne_header_scratch */
} sne_header;

/* Reusable storage for decoded item references. */
typedef struct sne_header_scratch {
    sne_item_ref *items;
    size_t alloc;
} sne_header_scratch;

void sne_header_scratch_free(sne_header_scratch *s);
sne_err sne_header_decode(const uint8_t *v, size_t n, sne_header_scratch *scratch, sne_header *h);
/* Appends the encoding of `h` to `out`. */
sne_err sne_header_encode(const sne_header *h, sne_buf *out);

typedef enum sne_op { SNE_OP_CREATE = 1, SNE_OP_UPDATE = 2, SNE_OP_DELETE = 3 } sne_op;
const char *sne_op_name(sne_op op);

/* A change record. Pointers borrow from the record's bytes. */
typedef struct sne_change_record {
    sne_op op;
    sne_entity entity;
    char num_unique[SNE_NUM_UNIQUE_LEN + 1];
    const char *key;
    size_t key_len;
    const char *numero;
    size_t numero_len;
    const char *date_export;
    size_t date_len;
    const uint8_t *before; /* encoded body or NULL */
    size_t before_len;
    const uint8_t *after;
    size_t after_len;
} sne_change_record;

sne_err sne_change_encode(const sne_change_record *c, sne_buf *out);
sne_err sne_change_decode(const uint8_t *v, size_t n, sne_change_record *c);

/* Body coding with reusable zstd contexts. */
typedef struct sne_body_codec {
    ZSTD_CCtx *cctx; /* owned */
    ZSTD_DCtx *dctx; /* owned */
    int level;
    size_t max_item; /* largest canonical form a body may decode to */
} sne_body_codec;

sne_err sne_body_codec_init(sne_body_codec *c, int level, size_t max_item);
void sne_body_codec_free(sne_body_codec *c);
/* Replaces `out` with the body of canonical form `canon`: zstd when it saves at least 1/8. */
sne_err sne_body_encode(sne_body_codec *c, const uint8_t *canon, size_t n, sne_buf *out);
/* Replaces `out` with the canonical form held in `body`. SNE_ERR_CORRUPT if it does not decode. */
sne_err sne_body_decode(sne_body_codec *c, const uint8_t *body, size_t n, sne_buf *out);

/* Little-endian and big-endian integer helpers shared by the store. */
static inline void sne_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t sne_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void sne_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t sne_get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#endif
