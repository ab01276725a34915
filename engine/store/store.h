/* store.h: the LMDB store of demands, their items and the change log. What a program calls (open,
 * close, the change log, a demand's items and state, stats, scopes) is public: snesync.h; the
 * engine's own half is below (an ingest's run and batches, demand headers, notes).
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
#include "snesync.h" /* the store's public half: open, changes, demands, stats */

#include <stdbool.h>
#include <stdint.h>

/* Starts (or resumes, when the same export was left unfinished) the run of export `h`.
 * Refuses with SNE_ERR_STALE an export older than data already applied to an overlapping scope,
 * unless `force`. Commits at once. */
sne_err sne_store_run_begin(sne_store *s, const sne_export_header *h, bool force, bool *resumed);
/* Applies one demand of the running export inside the current batch: its items of the requested
 * entities replace the stored ones, except the stored DRM months outside what the export proves
 * gone (its window, and those older than the register keeps: contract README §5), which stay. */
sne_err sne_store_apply(sne_store *s, const sne_demand *d, sne_apply_stats *st);
/* Commits the current batch, if any. */
sne_err sne_store_commit(sne_store *s);
/* Bytes of pages the open batch has dirtied (an estimate, see store_count_write): they live in
 * memory until the commit, so callers commit before a batch holds too much. Unlike the bytes
 * written, this does not depend on how large the store already is. */
uint64_t sne_store_batch_dirty(const sne_store *s);
/* Drops the current batch, if any: the store stays at its last commit. */
void sne_store_abort(sne_store *s);
/* Deletes the requested entities of every demand of the run's scope that the export did not
 * hold. Call only once the export is proven complete. Commits in batches; idempotent. */
sne_err sne_store_sweep(sne_store *s, sne_apply_stats *st);
/* Records the run's scope dates, forgets the seen set and marks the run done. Commits. */
sne_err sne_store_run_finish(sne_store *s);

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

#endif
