/* codec.h: the byte layouts of the values snesync keeps in LMDB.
 *
 * demand header (DB "demand", key numUnique): what a resync needs to decide, without
 * decompressing anything, whether anything changed and whether the demand is in an export's
 * scope:
 *
 *     u8 version=1 | u8 flags (bit 0: RADIEE) | u8 n, date of last modification (n bytes)
 *     | u8 n_communes, n_communes x 5 bytes (sought communes of the last CERFA)
 *     | u32 n_items, n_items x (u8 entity | u8 key_len | key | u64 hash)
 *
 * with the items sorted by (entity, key).
 *
 * demand body (DB "body", key numUnique): a frame whose content is, for each item of the header
 * in the header's order, u32 length | canonical form (canon.h).
 *
 * change group (DB "change", key u64 big-endian seq of its first change): a frame whose content
 * is the changes one ingest made to one demand, numbered from that seq on:
 *
 *     18 bytes numUnique | u8 n, numeroExport | u8 n, dateExport | u32 count
 *     | count x (u8 op | u8 entity | u8 key_len | key | u32 n_before | u32 n_after | before
 *                | after)
 *
 * where before/after are canonical forms (length 0: absent).
 *
 * frame: u8 codec (0 raw, 1 zstd, 2 zstd with the store's dictionary) | payload. One frame per
 * demand and per change group: items of a demand compress far better together than one by one,
 * and cost one zstd call. The dictionary (meta "dict") is trained once per store on its first
 * demands; frames written before it exist stay codec 1.
 *
 * Integers are little-endian. Decoders check every length against the value's size and fail
 * with SNE_ERR_CORRUPT rather than read past it. */
#ifndef SNE_CODEC_H
#define SNE_CODEC_H

#include "../common/buffer.h"
#include "../common/schema.h"
#include "../model/model.h"
#include "snesync.h" /* sne_op */

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

/* One change inside a group. Pointers borrow from the group's bytes (or the caller's). */
typedef struct sne_change_entry {
    sne_op op;
    sne_entity entity;
    const char *key;
    size_t key_len;
    const uint8_t *before; /* canonical form, NULL when absent */
    size_t before_len;
    const uint8_t *after;
    size_t after_len;
} sne_change_entry;

/* Starts a group in `out` (replacing its content) with count 0. */
sne_err sne_group_begin(sne_buf *out, const char *num, const char *numero, size_t numero_len,
                        const char *date, size_t date_len);
/* Appends one change and increments the group's count. */
sne_err sne_group_add(sne_buf *out, const sne_change_entry *e);
uint32_t sne_group_count(const sne_buf *group);

/* Reads a group's changes in order. Pointers borrow from the bytes given to open. */
typedef struct sne_group_reader {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t remaining;
    char num_unique[SNE_NUM_UNIQUE_LEN + 1];
    const char *numero;
    size_t numero_len;
    const char *date_export;
    size_t date_len;
} sne_group_reader;

sne_err sne_group_open(sne_group_reader *r, const uint8_t *raw, size_t n);
/* 1: a change was read into `e`; 0: the group ended cleanly; -1: corrupt. */
int sne_group_next(sne_group_reader *r, sne_change_entry *e);

/* Appends one item to a demand body's content. */
sne_err sne_body_add(sne_buf *out, const uint8_t *canon, size_t n);
/* Splits a body's content into exactly `n` items (items[i], lens[i] borrow from `raw`). */
sne_err sne_body_split(const uint8_t *raw, size_t len, size_t n, const uint8_t **items,
                       size_t *lens);

/* Frame coding with reusable zstd contexts. */
typedef struct sne_frame_codec {
    ZSTD_CCtx *cctx;   /* owned */
    ZSTD_DCtx *dctx;   /* owned */
    ZSTD_CDict *cdict; /* owned, NULL until a dictionary is loaded */
    ZSTD_DDict *ddict; /* owned, likewise */
    unsigned dict_id;
    int level;
    size_t max_content; /* largest content a frame may decode to */
} sne_frame_codec;

sne_err sne_frame_codec_init(sne_frame_codec *c, int level, size_t max_content);
/* Loads a dictionary (ZDICT format, copied): later frames are made with it. */
sne_err sne_frame_codec_load_dict(sne_frame_codec *c, const void *dict, size_t n);
void sne_frame_codec_free(sne_frame_codec *c);
/* Replaces `out` with the frame of `content`: zstd when it saves at least 1/8. */
sne_err sne_frame_encode(sne_frame_codec *c, const uint8_t *content, size_t n, sne_buf *out);
/* Replaces `out` with the content held in `frame`. SNE_ERR_CORRUPT if it does not decode. */
sne_err sne_frame_decode(sne_frame_codec *c, const uint8_t *frame, size_t n, sne_buf *out);

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
