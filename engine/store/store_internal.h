/* store_internal.h: the state shared by store.c (environment, transactions, runs, reads) and
 * apply.c (applying demands and sweeping absent ones). Not for use outside engine/store/. */
#ifndef SNE_STORE_INTERNAL_H
#define SNE_STORE_INTERNAL_H

#include "store.h"

#include <lmdb.h>

struct planned_change;

#define STORE_ID_BYTES 16 /* the store's identity: 128 random bits */

/* A demand's items are kept in two bodies: the monthly DRM items apart from the rest, so that the
 * monthly DRM rollover, which touches every demand, rewrites small DRM bodies and leaves the
 * forms, events and the rest alone. DRM is the last entity, so in (entity, key) order the items
 * of BODY_DRM are a suffix of the demand's items. */
typedef enum body_part { BODY_MAIN = 0, BODY_DRM = 1, BODY_PARTS = 2 } body_part;
_Static_assert(SNE_ENTITY_DRM == SNE_ENTITY__COUNT - 1, "DRM items end a demand's item list");

static inline body_part body_part_of(sne_entity e)
{
    return e == SNE_ENTITY_DRM ? BODY_DRM : BODY_MAIN;
}

/* The items [*first, *end) of `part` among `n` items sorted by (entity, key). */
static inline void body_part_range(const sne_item_ref *items, size_t n, body_part part,
                                   size_t *first, size_t *end)
{
    size_t drm = n;
    while (drm > 0 && items[drm - 1].entity == SNE_ENTITY_DRM)
        drm--;
    *first = part == BODY_MAIN ? 0 : drm;
    *end = part == BODY_MAIN ? drm : n;
}

typedef enum run_state { RUN_NONE = 0, RUN_STARTED = 1, RUN_DONE = 3 } run_state;

/* The export being ingested, as recorded in meta "run". */
typedef struct sne_run {
    run_state state;
    uint64_t attempt; /* incremented each time an ingest (re)starts: the seen set's mark */
    char numero[SNE_NUMERO_MAX + 1];
    char date_export[SNE_DATE_MAX + 1];
    int64_t date_ms;
    sne_entity_set entities;
    bool radiees;
    sne_location_kind location;
    size_t n_locations;
    char (*locations)[SNE_LOCATION_CODE_MAX + 1]; /* owned, SNE_MAX_LOCATIONS */
    unsigned profondeur_drm; /* the export's DRM window (apply.c), as in its header */
    uint32_t derniere_periode_drm;
} sne_run;

struct sne_store {
    MDB_env *env;
    MDB_dbi db_demand, db_body[BODY_PARTS], db_change, db_seen, db_scope, db_meta;
    MDB_dbi db_taken; /* taken.c; valid when has_taken (a reader of an older store has none) */
    bool has_taken;
    MDB_txn *txn;    /* the open write batch, or NULL */
    MDB_txn *pinned; /* the read transaction of sne_store_read_begin(), or NULL */
    int lock_fd;     /* the writer lock, -1 for readers */
    bool writable;
    char dir[4096];                        /* as given, less trailing slashes */
    char identity[2 * STORE_ID_BYTES + 1]; /* hex; "" until a writer gives the store one */
    sne_error err;
    sne_frame_codec codec;

    /* Valid while a batch is open; written back on commit. */
    size_t page_size, max_node; /* LMDB's page, and the largest value sharing a leaf */
    uint64_t batch_dirty; /* bytes of pages the batch has dirtied, estimated (store_count_write) */
    uint64_t seq;
    uint64_t counts[SNE_ENTITY__COUNT];

    sne_run run;

    /* Scratch reused across demands. */
    sne_header_scratch old_scratch;
    sne_buf old_header; /* copy of the stored header being replaced */
    sne_buf new_header;
    sne_buf old_body[BODY_PARTS];   /* decoded content of the stored bodies */
    sne_buf new_body;               /* content of the body being written */
    sne_buf group;                  /* content of the change group being written */
    sne_buf frame;                  /* an encoded frame, on its way into LMDB */
    sne_buf decoded;                /* a decoded frame for readers */
    sne_item_ref *merged;           /* the demand's items after the merge, header order */
    int *merged_source;             /* per merged item: arrived index j >= 0, or -1 - old index */
    struct planned_change *planned; /* the merge's changes (apply.c) */
    size_t merged_alloc;            /* capacity of merged, merged_source and planned */
    /* Bodies gathered to train the store's zstd dictionary, until it exists. */
    sne_buf dict_samples;
    size_t *sample_sizes;
    size_t n_samples;
    bool dict_failed; /* training did not work out: compress without, do not retry */

    const uint8_t **old_items; /* the stored items' canonical forms, header order */
    size_t *old_lens;
    size_t old_alloc;
};

/* Adds to s->batch_dirty what one write of a `value_len`-byte value costs in dirty pages. LMDB
 * does not tell, so it is estimated: a random key dirties a leaf page of its own (keys arrive in
 * no particular order, so a batch rarely writes two into one leaf of a large tree), an appended
 * key shares the last leaf, and a value too large to share a leaf gets pages of its own. */
void store_count_write(sne_store *s, size_t value_len, bool append);
/* A read transaction: the pinned one (sne_store_read_begin) when there is one, else a new one
 * that store_end_read() aborts. */
sne_err store_begin_read(sne_store *s, MDB_txn **txn);
void store_end_read(sne_store *s, MDB_txn *txn);
/* Opens the write batch if none is open. */
sne_err store_begin_batch(sne_store *s);
/* Records an LMDB failure, aborts the open batch, returns SNE_ERR_STORE (or _BUSY/_LIMIT). */
sne_err store_fail(sne_store *s, int mdb_rc, const char *what);
/* Offers a body's content as a sample for the store's dictionary; trains and records it (in the
 * open batch) once enough samples are in. */
sne_err store_sample_for_dictionary(sne_store *s, const sne_buf *content);
/* True when a demand with this header is inside the running export's scope. */
bool store_in_run_scope(const sne_store *s, const sne_header *h);

/* A demand's entry in the database "taken" (taken.c): the instant a unit read took its data. */
typedef struct store_taken {
    bool found;
    int64_t ms;     /* the read's dateExport, milliseconds since the epoch */
    bool tombstone; /* the read deleted the demand (it had left the scope) */
} store_taken;

/* The entry of `num` in `txn` (found false when none). */
sne_err store_taken_get(sne_store *s, MDB_txn *txn, const char *num, store_taken *t);
/* Records, in the open batch, that a read at `ms` took `num`'s data (or deleted it). */
sne_err store_taken_put(sne_store *s, const char *num, int64_t ms, bool tombstone);
/* An export of instant `export_ms` meets `num`, whose entry is `t`: *newer_held says the entry is
 * newer (the export must leave the demand as it is); otherwise the entry, if any, is deleted in
 * the open batch (the export is at least as new). */
sne_err store_taken_settle(sne_store *s, const char *num, const store_taken *t, int64_t export_ms,
                           bool *newer_held);
/* Deletes every entry older than `export_ms` (a complete export newer than them has been
 * applied: they, tombstones included, can no longer protect anything). Commits in batches. */
sne_err store_taken_sweep(sne_store *s, int64_t export_ms);

#endif
