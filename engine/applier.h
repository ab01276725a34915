/* applier.h: parsed demands applied to the store on a thread of its own.
 *
 * After decompression (sne_readahead's thread), an ingest has two big costs: parsing (libxml2
 * SAX, canonical forms, hashes) and storing (hash comparison, zstd, LMDB writes). The applier
 * runs the storing on a second thread so that the two overlap (DESIGN-NOTES §5). The parser's
 * callback copies each demand into a parcel (its pointers are borrowed for the callback only) and
 * hands full parcels over a bounded queue; the applier thread applies them in arrival order with
 * sne_store_apply and commits a batch once it holds `batch_demands` demands or has dirtied
 * `batch_dirty` bytes of pages (sne_store_batch_dirty), exactly as one thread doing both would.
 *
 * Ownership: from sne_applier_start until sne_applier_finish or sne_applier_free returns, the
 * store and `stats` belong to the applier thread (an LMDB write transaction stays on the thread
 * that began it); the caller must not touch them. Memory is bounded by the queue: APPLIER_PARCELS
 * parcels of about APPLIER_PARCEL_BYTES each (a parcel that had to grow for one large demand is
 * released once applied).
 *
 * Errors: the first failure stops the thread, which drops its open batch (the store stays at its
 * last commit, as after a crash); every later push and the finish return that error, located by
 * member, line and demand number. */
#ifndef SNE_APPLIER_H
#define SNE_APPLIER_H

#include "store/store.h"

#define APPLIER_PARCELS       8
#define APPLIER_PARCEL_BYTES  (512u * 1024u)
#define APPLIER_PARCEL_DEMAND 128 /* demands per parcel at most */

typedef struct sne_applier sne_applier;

/* Starts the thread that applies demands to `s` (writable, its run begun). */
sne_err sne_applier_start(sne_applier **out, sne_store *s, size_t batch_demands,
                          uint64_t batch_dirty, sne_apply_stats *stats, sne_error *err);
/* Copies `d`, read from `member`, for the applier; blocks while the queue is full. Returns the
 * applier's error once it has failed. */
sne_err sne_applier_push(sne_applier *a, const char *member, const sne_demand *d, sne_error *err);
/* Hands over what is held, waits until every demand is applied, commits the last batch and stops
 * the thread; the store is the caller's again. While it waits, on_progress (may be NULL) is
 * called on the calling thread each time a parcel has been applied (sne_applier_commits tells
 * whether a batch was committed). Returns the first error. */
sne_err sne_applier_finish(sne_applier *a, void (*on_progress)(void *ctx), void *ctx,
                           sne_error *err);
/* Batches the applier has committed so far; may be read while it runs (progress). */
uint64_t sne_applier_commits(const sne_applier *a);
/* Stops the thread without applying what is still queued (its open batch is dropped), joins it
 * and frees everything. Accepts NULL. */
void sne_applier_free(sne_applier *a);

#endif
