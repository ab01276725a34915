/* applier.h: parsed demands applied to the store on a thread of its own.
 *
 * After decompression (sne_readahead's thread), an ingest has two big costs: parsing (libxml2
 * SAX, canonical forms, hashes) and storing (hash comparison, zstd, LMDB writes). The applier
 * runs the storing on a second thread so that the two overlap (DESIGN-NOTES §5). The parser's
 * callback hands each demand's record over (sne_applier_push) and gets an empty record of the
 * applier's pool in exchange, so nothing of a demand is copied; the applier thread applies the
 * records in arrival order with sne_store_apply, gives each back to the pool, and commits a batch
 * once it holds `batch_demands` demands or has dirtied `batch_dirty` bytes of pages
 * (sne_store_batch_dirty), exactly as one thread doing both would.
 *
 * Ownership: from sne_applier_start until sne_applier_finish or sne_applier_free returns, the
 * store and `stats` belong to the applier thread (an LMDB write transaction stays on the thread
 * that began it); the caller must not touch them. The records the applier holds (its pool, and
 * those handed to it, less those it handed out) are freed with it. Memory is bounded by the
 * pool: APPLIER_RECORDS records in flight, each keeping at most SNE_RECORD_KEEP_BYTES between
 * demands (record.h), and one demand as large as the parser allows in each.
 *
 * Errors: the first failure stops the thread, which drops its open batch (the store stays at its
 * last commit, as after a crash); every later push and the finish return that error's code, and
 * sne_applier_error() says what and where (member, line and demand number). */
#ifndef SNE_APPLIER_H
#define SNE_APPLIER_H

#include "model/record.h"
#include "store/store.h"

/* Demands in flight between the parser and the store. While the store thread commits a batch
 * (page writes and a data sync), the parser runs on: with 128 records it stalled and the 100k
 * initial load and next month took 2% and 15% longer in wall time than with the parcel queue
 * this pool replaced (1,024 copied demands); 512 is as fast as that queue or faster in all three
 * stages (initial 0.90, resync 0.95, next month 0.96 of its wall time, medians of 3, quiet
 * machine) for 9 MB more resident memory, and 1,024 buys nothing more. */
#define APPLIER_RECORDS 512
#define APPLIER_RUN     32 /* records moved per hand-over, either way (applier.c) */

typedef struct sne_applier sne_applier;

/* Starts the thread that applies demands to `s` (writable, its run begun). */
sne_err sne_applier_start(sne_applier **out, sne_store *s, size_t batch_demands,
                          uint64_t batch_dirty, sne_apply_stats *stats, sne_error *err);
/* Takes the sealed record *rec (transferred to the applier) and puts in *rec an empty record of
 * the pool (transferred to the caller), waiting while all of them are in flight. Once the
 * applier has failed, returns its error's code and leaves *rec alone. */
sne_err sne_applier_push(sne_applier *a, sne_record **rec);
/* Waits until every demand handed over is applied, commits the last batch and stops the thread;
 * the store is the caller's again. Returns the first error's code. */
sne_err sne_applier_finish(sne_applier *a);
/* The error that stopped the applier; read it once push or finish returned non-zero. */
const sne_error *sne_applier_error(const sne_applier *a);
/* Batches the applier has committed so far; may be read while it runs (progress). */
uint64_t sne_applier_commits(const sne_applier *a);
/* Stops the thread without applying what is still queued (its open batch is dropped), joins it
 * and frees everything. Accepts NULL. */
void sne_applier_free(sne_applier *a);

#endif
