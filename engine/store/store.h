/* store.h: the LMDB store of demands, their items and the change log.
 *
 * One directory holds one LMDB environment with these databases:
 *   demand  numUnique -> header (codec.h): item keys and hashes, state, sought communes
 *   body    numUnique -> the demand's canonical items other than DRM, one zstd frame
 *   drm     numUnique -> its DRM items (the monthly rollover rewrites these only), the same way
 *   change  first seq (u64 big-endian) -> the group of changes one ingest made to one demand
 *           (transactional outbox: written in the same transaction as the state it describes)
 *   seen    numUnique -> attempt: the demands met by the export being ingested (cleared when the
 *           run is finished), so the final sweep knows what is absent without holding a set in RAM
 *   scope   "A|CERFA|D38" -> date of the newest export applied to that scope (staleness)
 *   meta    format version, the store's identity, last seq, item counts, the current run
 *
 * A new store is built in DIR.creating and renamed to DIR once its databases are committed, so
 * DIR never names a half-made store (a kill during the creation leaves DIR.creating, which the
 * next creator reuses).
 * A writer holds an exclusive lock file for its whole life (a second writer gets SNE_ERR_BUSY);
 * readers never block and see only committed state. Writes happen in batches: sne_store_apply()
 * opens a write transaction when none is open and sne_store_commit() ends it, so the caller
 * decides the batch size. Everything a batch did is lost together if the process dies, and
 * re-applying the same demands reproduces it exactly (idempotence, DESIGN-NOTES §4). */
#ifndef SNE_STORE_H
#define SNE_STORE_H

#include "../common/error.h"
#include "../model/model.h"
#include "codec.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sne_store sne_store;

typedef struct sne_store_options {
    bool writable;
    bool create;       /* with writable: make the store when DIR holds none (DIR's parent must
                          exist); otherwise a missing store is SNE_ERR_NOTFOUND */
    uint64_t map_size; /* 0: $SNESYNC_MAP_SIZE, else 64 GiB, halved while the address space
                          cannot hold it (address space only: the file grows as used) */
    int zstd_level;    /* 0: 3 */
    size_t max_demand; /* largest canonical content of one demand (0: 64 MiB) */
} sne_store_options;

/* Opens the store in `dir`, creating it (0700 directory, 0600 files) when the options ask.
 * SNE_ERR_NOTFOUND when there is no store there (a missing DIR, or one without a data file),
 * SNE_ERR_IO when DIR cannot be reached or made (permissions), SNE_ERR_BUSY when another process
 * writes to it (or is creating it) and a writer was asked for. */
sne_err sne_store_open(sne_store **out, const char *dir, const sne_store_options *opt,
                       sne_error *err);
/* Aborts any open batch. Accepts NULL. */
void sne_store_close(sne_store *s);
const sne_error *sne_store_error(const sne_store *s);

/* The store's identity: 32 hex digits drawn at random when it was created, so that a consumer
 * can tell a rebuilt store from the one its cursor belongs to. A store made before identities
 * existed gets one on its next writable open; until then this is "". Borrowed until close. */
const char *sne_store_identity(const sne_store *s);
/* The change log's extent: `last` is the last seq given out (0 in a new store), `first` the
 * first seq held, or last + 1 when none is held (a new store, or everything pruned). A cursor
 * (the last seq a consumer applied) is valid from first - 1 to last. */
sne_err sne_store_seq_range(sne_store *s, uint64_t *first, uint64_t *last);

/* Counters of one ingest, added to as demands are applied and swept. */
typedef struct sne_apply_stats {
    uint64_t demands;
    uint64_t items_unchanged;
    uint64_t creates, updates, deletes;
    uint64_t demands_swept; /* absent demands of the scope whose items were deleted (for a read:
                               a demand held that left the scope) */
    uint64_t demands_newer_held; /* left as they are: a unit read took them after this data */
} sne_apply_stats;

/* Starts (or resumes, when the same export was left unfinished) the run of export `h`.
 * Refuses with SNE_ERR_STALE an export older than data already applied to an overlapping scope,
 * unless `force`. Commits at once. */
sne_err sne_store_run_begin(sne_store *s, const sne_export_header *h, bool force, bool *resumed);
/* Applies one demand of the running export inside the current batch: its items of the requested
 * entities replace the stored ones, except the stored DRM months outside what the export proves
 * gone (its window, and those older than the register keeps: contract README §5), which stay.
 * A demand a unit read took after the export's dateExport is left as it is (newer data wins,
 * sne_store_apply_read). */
sne_err sne_store_apply(sne_store *s, const sne_demand *d, sne_apply_stats *st);

/* A unit read (contract sections 7 and 8): one demand as the register held it at `date_ms`. */
typedef struct sne_store_read {
    const char *num;          /* the demand read (NUL-terminated numUnique) */
    const sne_demand *demand; /* as read, or NULL: it left the scope (radiated while the store
                                 mirrors ACTIVE demands, moved away, unknown: 404) */
    sne_entity_set entities;  /* the entities asked for: the only ones that change */
    const char *numero;       /* the document's numeroExport ("D" + num), for the change log */
    const char *date_export;  /* its dateExport as written, for the change log */
    int64_t date_ms;          /* the same instant */
    unsigned profondeur_drm;  /* the document's DRM window (as sne_export_header) */
    uint32_t derniere_periode_drm;
} sne_store_read;

/* Applies a unit read inside the current batch, whatever run is recorded: the read's entities
 * of the demand become what it brought (an absent block: none of it; DRM months as an export of
 * the same window would leave them), or, for a demand that left the scope, are deleted, with
 * their changes logged under the read's number and date. Newer data wins: a demand already
 * taken by a read newer than this one is left as it is. Records the read's instant for the
 * demand (a tombstone when it left the scope), which an older export then respects
 * (sne_store_apply leaves the demand, the sweep keeps it) until a complete export newer than it
 * is finished. */
sne_err sne_store_apply_read(sne_store *s, const sne_store_read *rd, sne_apply_stats *st);
/* Commits the current batch, if any. */
sne_err sne_store_commit(sne_store *s);
/* Bytes of pages the open batch has dirtied (an estimate, see store_count_write): they live in
 * memory until the commit, so callers commit before a batch holds too much. Unlike the bytes
 * written, this does not depend on how large the store already is. */
uint64_t sne_store_batch_dirty(const sne_store *s);
/* Drops the current batch, if any: the store stays at its last commit. */
void sne_store_abort(sne_store *s);
/* Deletes the requested entities of every demand of the run's scope that the export did not
 * hold, except those a unit read took after the export's dateExport. Call only once the export
 * is proven complete. Commits in batches; idempotent. */
sne_err sne_store_sweep(sne_store *s, sne_apply_stats *st);
/* Forgets the instants of the reads older than the run's export (sne_store_apply_read: newer
 * data wins), records the run's scope dates, forgets the seen set and marks the run done.
 * Commits. */
sne_err sne_store_run_finish(sne_store *s);

/* A change as read back. Everything is borrowed until the callback returns; before and after
 * are canonical forms, NULL when absent. */
typedef struct sne_change {
    uint64_t seq;
    sne_op op;
    sne_entity entity;
    const char *num_unique; /* NUL-terminated */
    const char *key;
    size_t key_len;
    const char *numero;
    size_t numero_len;
    const char *date_export;
    size_t date_len;
    const uint8_t *before;
    size_t before_len;
    const uint8_t *after;
    size_t after_len;
} sne_change;

typedef sne_err (*sne_change_fn)(void *ctx, const sne_change *c);
/* Calls fn for each change with seq > since, in seq order, at most `limit` (0: no limit).
 * SNE_ERR_RANGE when `since` is outside the cursors sne_store_seq_range() allows: below
 * first - 1 (changes the consumer has not seen were pruned) or past last (the store is not the
 * one the consumer read: rebuilt or replaced). */
sne_err sne_store_changes(sne_store *s, uint64_t since, uint64_t limit, sne_change_fn fn,
                          void *ctx);
/* Deletes the changes with seq <= upto (after consumers have applied them). */
sne_err sne_store_prune(sne_store *s, uint64_t upto, uint64_t *pruned);

/* One stored item, decoded. Borrowed until the callback returns. */
typedef struct sne_stored_item {
    sne_entity entity;
    const char *key;
    size_t key_len;
    const uint8_t *canon;
    size_t canon_len;
} sne_stored_item;

typedef sne_err (*sne_item_fn)(void *ctx, const sne_header *h, const sne_stored_item *it);
/* Calls fn for every item of demand `num` in (entity, key) order; SNE_ERR_NOTFOUND if unknown.
 * A known demand with no items gets one call with it == NULL. */
sne_err sne_store_read_demand(sne_store *s, const char *num, sne_item_fn fn, void *ctx);

/* Pins one read transaction: until sne_store_read_end(), every read of `s` (the seq range, the
 * changes, demands, headers, notes, stats and scopes) sees one snapshot, the committed state at
 * the pin, whatever writers commit meanwhile: for a consumer that reads the change log and the
 * demands' state together. A pin keeps the pages of its snapshot from being reused by writers,
 * so end it soon (the store's file grows while one is held during large writes).
 * SNE_ERR_USAGE when a pin is held already, or a write batch is open on `s`. */
sne_err sne_store_read_begin(sne_store *s);
/* Ends the pin, if any. Accepts NULL. sne_store_close() ends it too. */
void sne_store_read_end(sne_store *s);

/* A demand's header: its state (radiee), date of last modification and item references, without
 * its items. `num` is NUL-terminated; `h` and what it points to are borrowed until fn returns. */
typedef sne_err (*sne_header_fn)(void *ctx, const char *num, const sne_header *h);
/* Calls fn once with the header of demand `num`, or with h == NULL when the store does not hold
 * it (a demand held may have no items: a scope's export listed it without data). */
sne_err sne_store_demand_header(sne_store *s, const char *num, sne_header_fn fn, void *ctx);
/* Calls fn for the header of every demand held, in numUnique (byte) order. */
sne_err sne_store_demand_headers(sne_store *s, sne_header_fn fn, void *ctx);

/* Small named values kept for the layers above the store (the sync job's pending export, its
 * request), in the meta database under "note:<name>". put commits at once (it must not be called
 * while a batch is open); a NULL value deletes the note. get replaces `out`'s content, or returns
 * SNE_ERR_NOTFOUND. Values are at most 64 KiB. */
sne_err sne_store_note_put(sne_store *s, const char *name, const void *value, size_t n);
sne_err sne_store_note_get(sne_store *s, const char *name, sne_buf *out);

typedef struct sne_store_stats {
    uint64_t demands;
    uint64_t items[SNE_ENTITY__COUNT];
    uint64_t first_seq, last_seq; /* as sne_store_seq_range() */
    uint64_t changes;             /* changes held (not yet pruned) */
    uint64_t file_bytes;          /* size of the LMDB data file */
    uint64_t map_size;
    bool run_open; /* an ingest was interrupted and not finished */
    char run_export[SNE_NUMERO_MAX + 1];
} sne_store_stats;

sne_err sne_store_stats_get(sne_store *s, sne_store_stats *st);

typedef sne_err (*sne_scope_fn)(void *ctx, const char *scope, const char *numero,
                                const char *date_export);
/* Calls fn for each scope with the newest export applied to it. */
sne_err sne_store_scopes(sne_store *s, sne_scope_fn fn, void *ctx);

#endif
