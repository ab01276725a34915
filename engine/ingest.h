/* ingest.h: one export archive in, the store and its change log brought up to date.
 *
 * The stages run in a stream, on three threads: raw archive bytes -> unpack (gzip tar, on
 * sne_readahead's thread) -> parser (SAX, canonical items, on the calling thread) -> store (hash
 * compare, batched LMDB writes, change records, on sne_applier's thread). Nothing is deleted until
 * the archive has been read to its end, every part 1..nombreParties has arrived exactly once with
 * a matching pied/nombreDemandes, and (when given) the size and sha256 match; then the sweep
 * deletes what the export's scope no longer holds. Killing the process at any point and running
 * the same ingest again yields the same store and change log (DESIGN-NOTES §4). */
#ifndef SNE_INGEST_H
#define SNE_INGEST_H

#include "parse/parser.h"
#include "store/store.h"
#include "unpack/unpack.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sne_ingest_progress {
    uint64_t raw_bytes; /* archive bytes consumed */
    uint64_t xml_bytes; /* XML bytes parsed */
    uint64_t demands;
    const char *phase; /* "reading" or "sweeping" */
} sne_ingest_progress;

typedef struct sne_ingest_options {
    bool force;                /* apply even an export older than the data held (SNE_ERR_STALE) */
    size_t batch_demands;      /* demands per transaction at most; 0: 10000 */
    uint64_t batch_dirty;      /* bytes of dirty pages per transaction at most (they are held in
                                  memory until the commit); 0: 16 MiB */
    const char *expect_sha256; /* lowercase hex the archive must hash to, or NULL */
    int64_t expect_size;       /* bytes the archive must have, or -1 */
    const sne_parse_limits *limits;         /* NULL: the defaults */
    const sne_unpack_limits *unpack_limits; /* NULL: the defaults */
    /* Called on the calling thread after a batch is committed, every 16 MiB of XML and at phase
     * changes; may be NULL. */
    void (*progress)(void *ctx, const sne_ingest_progress *p);
    void *progress_ctx;
} sne_ingest_options;

typedef struct sne_ingest_summary {
    char numero[SNE_NUMERO_MAX + 1];
    char date_export[SNE_DATE_MAX + 1];
    sne_entity_set entities;
    bool radiees;
    bool resumed; /* an interrupted run of the same export was continued */
    unsigned parts;
    uint64_t raw_bytes;
    uint64_t xml_bytes;
    uint64_t unrequested; /* demands that carried entities the export did not request */
    char sha256[65];
    sne_apply_stats stats;
} sne_ingest_summary;

void sne_ingest_options_default(sne_ingest_options *o);

/* Ingests the archive read through `read`/`read_ctx` into the writable store `s`. On error the
 * open batch is dropped, nothing is swept, and `err` says what and where. */
sne_err sne_ingest(sne_store *s, sne_unpack_read_fn read, void *read_ctx,
                   const sne_ingest_options *o, sne_ingest_summary *sum, sne_error *err);

#endif
