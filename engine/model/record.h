/* record.h: one demand with every byte it points to, so that it changes hands by pointer.
 *
 * The parser fills a record as it reads a <demande>, seals it, and hands it over whole: whoever
 * takes it (the applier's queue) gives back an empty record in exchange, and the store applies
 * record->demand where it lies. Nothing of the demand is copied between the parse and the store.
 *
 * Layout: `bytes` holds, for each item in the order it was added, its key, a NUL and its
 * canonical form; `items` the items, sorted by (entity, key) once sealed; `communes` the sought
 * communes. While the record is being filled `bytes` may move as it grows, so items are kept by
 * offset; sealing sets the pointers of `demand` and of its items once, and from then on nothing
 * moves until the record is begun again or cleared. The record itself never moves either (it is
 * handed over by pointer), so `demand.communes` may point into it.
 *
 * Memory: a record keeps its buffers from one demand to the next, up to SNE_RECORD_KEEP_BYTES and
 * SNE_RECORD_KEEP_ITEMS; one grown past them for a large demand gives the memory back when cleared.
 * Its size while filled is capped by the `max_bytes` its filler gives (sne_parse_limits). */
#ifndef SNE_RECORD_H
#define SNE_RECORD_H

#include "../common/buffer.h"
#include "model.h"

#define SNE_RECORD_MEMBER_MAX 255          /* bytes of a member name kept for messages */
#define SNE_RECORD_KEEP_BYTES (32u * 1024) /* bytes of keys and forms kept between demands */
#define SNE_RECORD_KEEP_ITEMS 256          /* item slots kept between demands */

typedef struct sne_record {
    sne_demand demand; /* valid once sealed, until the record is begun again, cleared or freed */
    char member[SNE_RECORD_MEMBER_MAX + 1]; /* the document the demand was read from */
    sne_buf bytes;                          /* owned: keys and canonical forms */
    sne_item *items;                        /* owned, items_alloc; pointers set when sealed */
    size_t *offsets;                        /* owned, items_alloc: each item's key in bytes */
    size_t items_alloc;
    char communes[SNE_MAX_SOUGHT_COMMUNES][SNE_COMMUNE_LEN + 1];
} sne_record;

/* An empty record; NULL when out of memory. Owned by the caller until handed over. */
sne_record *sne_record_new(void);
/* Accepts NULL. */
void sne_record_free(sne_record *r);
/* Empties `r` (as sne_record_clear) for a demand read from `member` (copied, cut to
 * SNE_RECORD_MEMBER_MAX bytes) whose keys and canonical forms take at most `max_bytes`. */
void sne_record_begin(sne_record *r, const char *member, size_t max_bytes);
/* Ends the use of `r` (its demand is no longer valid), giving back the memory it grew past the
 * SNE_RECORD_KEEP_* limits. It writes as little as it can: the record is then handed to the
 * thread that will begin it again, and every line written here would have to travel there. */
void sne_record_clear(sne_record *r);
/* Adds an item (key: `key_len` bytes, no NUL among them). SNE_ERR_LIMIT when the record would
 * hold more than its `max_bytes`, SNE_ERR_NOMEM; the record is unchanged on failure. */
sne_err sne_record_add_item(sne_record *r, sne_entity e, const char *key, size_t key_len,
                            const uint8_t *canon, size_t canon_len, uint64_t hash);
/* Adds a sought commune (SNE_COMMUNE_LEN bytes); false once SNE_MAX_SOUGHT_COMMUNES are held. */
bool sne_record_add_commune(sne_record *r, const char *code);
/* Points `demand` at the items and communes and sorts the items by (entity, key). Returns the
 * position of the first item whose (entity, key) repeats the one before it, or 0 when none
 * does. */
size_t sne_record_seal(sne_record *r);

#endif
