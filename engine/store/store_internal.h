/* store_internal.h: the state the files of engine/store/ share, and the functions one offers the
 * others. Not for use outside engine/store/.
 *
 *   store.c        the environment: open, close, databases, format, map growth, transactions
 *   store_dir.c    the store's directory: writer lock, creation in DIR.creating, publication
 *   store_dict.c   the zstd dictionary: samples, training, loading
 *   store_runs.c   runs and scopes: the run record, staleness, scope dates
 *   apply.c        applying demands and unit reads, sweeping absent ones
 *   store_taken.c  the instant a unit read took a demand (newer data wins), tombstones
 *   store_log.c    the change log: extent, reading since a cursor, pruning
 *   store_read.c   reading demands: items and headers
 *   store_notes.c  notes
 *   store_stats.c  counters, extent and scopes, for reports
 *   store_migrate.c  a store before format 4 brought to it
 *   codec*.c       the stored bytes (codec.h)
 *
 * Errors: a function that fails sets s->err (once, where the failure happens) and returns its
 * code; one that fails inside a write batch through store_fail() has aborted the batch. */
#ifndef SNE_STORE_INTERNAL_H
#define SNE_STORE_INTERNAL_H

#include "store.h"

#include <lmdb.h>
#include <string.h>

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

/* The key of body `part` of demand `num` in the demand database (codec.h, format 4): the number
 * and one byte, so that a demand's bodies follow its header in key order and share its leaf. */
static inline MDB_val store_body_key(const char *num, body_part part,
                                     char buf[SNE_NUM_UNIQUE_LEN + 1])
{
    memcpy(buf, num, SNE_NUM_UNIQUE_LEN);
    buf[SNE_NUM_UNIQUE_LEN] = (char)(1 + part);
    return (MDB_val){SNE_NUM_UNIQUE_LEN + 1, buf};
}

#define STORE_CREATING_SUFFIX   ".creating" /* a new store DIR is built as DIR.creating */
#define STORE_DICT_SAMPLE_BYTES (8u << 20)  /* cap of the dictionary's samples (store_dict.c) */

/* The meta database's key `key` (a C string, static: the value borrows it). */
static inline MDB_val store_meta_key(const char *key)
{
    return (MDB_val){strlen(key), (void *)key};
}

struct sne_store {
    MDB_env *env;
    MDB_dbi db_demand, db_change, db_seen, db_scope, db_meta;
    /* The bodies' databases before format 4 ("body", "drm"; empty from then on), and whether
     * they hold any (a reader of an older store, or of one whose move was killed: a writer
     * moves them as it opens the store). */
    MDB_dbi db_old_body[BODY_PARTS];
    bool has_old_bodies;
    MDB_dbi db_taken; /* store_taken.c; valid when has_taken (not for a reader of an older store) */
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
    uint64_t demands; /* demands held (meta "demands") */

    sne_run run; /* its locations: owned, room for SNE_MAX_LOCATIONS codes */

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
    /* Bodies gathered to train the store's zstd dictionary, until it exists (store_dict.c). */
    sne_buf dict_samples;
    size_t *sample_sizes;
    size_t n_samples;
    bool dict_failed; /* training did not work out: compress without, do not retry */

    const uint8_t **old_items; /* the stored items' canonical forms, header order */
    size_t *old_lens;
    size_t old_alloc;
};

/* ---- store.c ---- */

/* Records an LMDB failure in s->err, aborts the open batch, returns SNE_ERR_STORE. */
sne_err store_fail(sne_store *s, int mdb_rc, const char *what);
/* The u64 meta value `key` in `txn` into *value; false (and *value 0) when it is absent or not
 * 8 bytes. */
bool store_meta_get_u64(const sne_store *s, MDB_txn *txn, const char *key, uint64_t *value);
/* The same, 0 when absent. */
uint64_t store_meta_u64(const sne_store *s, MDB_txn *txn, const char *key);
/* Opens the write batch if none is open: s->txn, with s->seq and s->counts loaded from meta
 * (sne_store_commit() writes them back). SNE_ERR_USAGE on a read-only store. */
sne_err store_begin_batch(sne_store *s);
/* Adds to s->batch_dirty what one write of a `value_len`-byte value costs in dirty pages. LMDB
 * does not tell, so it is estimated: a random key dirties a leaf page of its own (keys arrive in
 * no particular order, so a batch rarely writes two into one leaf of a large tree), an appended
 * key shares the last leaf, and a value too large to share a leaf gets pages of its own. */
void store_count_write(sne_store *s, size_t value_len, bool append);
/* A read transaction: the pinned one (sne_store_read_begin) when there is one, else a new one
 * that store_end_read() aborts. What it reads is valid until store_end_read(). */
sne_err store_begin_read(sne_store *s, MDB_txn **txn);
void store_end_read(sne_store *s, MDB_txn *txn);
/* An entry of a database met by store_scan(): `k` and `v` borrow from the read until it returns. */
typedef sne_err (*store_entry_fn)(void *ctx, const MDB_val *k, const MDB_val *v);
/* Calls fn for each entry of `db`, in key order, inside one read, until fn returns an error (which
 * store_scan returns). An LMDB failure is reported as `what` ("cannot scan demands"). */
sne_err store_scan(sne_store *s, MDB_dbi db, const char *what, store_entry_fn fn, void *ctx);

/* ---- store_migrate.c ---- */

/* Moves the bodies of a store before format 4 beside their headers (codec.h), a chunk per
 * transaction, then counts the demands into meta. Crash-safe: a body
 * is in one place or the other at every commit (readers look in both), and the next writable
 * open finishes the move. */
sne_err store_migrate_bodies(sne_store *s);
/* Demands held, counted from the headers (a store whose meta does not say it yet). */
sne_err store_count_demands(sne_store *s, MDB_txn *txn, uint64_t *n);

/* ---- store_dir.c ---- */

/* Keeps `dir` in s->dir without its trailing slashes. SNE_ERR_USAGE when empty or too long. */
sne_err store_set_dir(sne_store *s, const char *dir);
/* Finds the directory to open the store in: s->dir when it exists. When it does not and
 * `create`, DIR.creating, locked (s->lock_fd), named in `creating` (store_publish() renames it
 * to DIR once its databases are committed); `creating` is "" otherwise. */
sne_err store_find_dir(sne_store *s, bool create, char *creating, size_t cap);
/* SNE_ERR_NOTFOUND when an existing s->dir holds no data file (an empty directory is no store). */
sne_err store_check_data_file(sne_store *s);
/* Takes the writer lock of directory `dir` into s->lock_fd (closed by sne_store_close):
 * SNE_ERR_BUSY when another process holds it. */
sne_err store_lock_writer(sne_store *s, const char *dir);
/* Makes the store built in `creating` durable, then renames it to s->dir. */
sne_err store_publish(sne_store *s, const char *creating);

/* ---- store_dict.c ---- */

/* Loads the dictionary recorded in `txn`, if any, into s->codec. */
sne_err store_dict_load(sne_store *s, MDB_txn *txn);
/* Offers a body's content (copied) as a sample for the store's dictionary; trains and records it
 * in the open batch once enough samples are in. */
sne_err store_sample_for_dictionary(sne_store *s, const sne_buf *content);
/* Frees the samples gathered so far. */
void store_dict_forget_samples(sne_store *s);

/* ---- store_runs.c ---- */

/* Reads meta "run" from `txn` into `r` (whose locations receive the codes); state SNE_RUN_NONE
 * when there is none. */
sne_err store_load_run(sne_store *s, MDB_txn *txn, sne_run *r);
/* True when a demand with this header is inside the running export's scope. */
bool store_in_run_scope(const sne_store *s, const sne_header *h);

/* ---- store_log.c ---- */

/* The change log's extent in `txn`, as sne_store_seq_range(). */
sne_err store_seq_range(sne_store *s, MDB_txn *txn, uint64_t *first, uint64_t *last);

/* ---- store_taken.c ---- */

/* A demand's entry in the database "taken": the instant a unit read took its data. */
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
