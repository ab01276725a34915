/* sync_feed.h: an export's archive downloaded and ingested at once (sync.h, phase "ready").
 *
 * A download thread appends the archive to the job's .part file; the ingest, on the calling
 * thread, reads the file behind it and waits for more when it catches up, so the file is the
 * buffer between the two and memory stays bounded whatever the archive's size. Bytes already on
 * disk (an earlier run's) are replayed into the ingest first, and the download continues from
 * there with Range. The ingest checks the announced size and sha256 before it deletes anything. */
#ifndef SNE_SYNC_FEED_H
#define SNE_SYNC_FEED_H

#include "sync.h"

/* What to download and where; every pointer is borrowed for the call. */
typedef struct sne_sync_feed_job {
    sne_fetch *fetch;          /* cancelled (then reset) when the ingest fails while it downloads */
    sne_store *store;          /* writable: the ingest's */
    const char *path;          /* the .part file, created 0600; a longer one is started over */
    const char *numero;        /* the export */
    const char *url;           /* the status's fichier.url, or NULL for the API's path */
    const char *sha256;        /* announced: the download's If-Range, the ingest's check */
    uint64_t size;             /* announced taille */
    const sne_sync_options *o; /* batch_demands, and the progress callback (both threads) */
} sne_sync_feed_job;

/* Runs the download and the ingest until both have stopped. Fills sum->resumed_from,
 * downloaded_bytes, archive_bytes and ingest. On failure, *download_failed says whether the
 * error in `err` is the download's own (its failure stopped the ingest: an HTTP refusal, a
 * network or disk error, an archive that is not the announced one) rather than the ingest's. */
sne_err sne_sync_feed_run(const sne_sync_feed_job *job, sne_sync_summary *sum,
                          bool *download_failed, sne_error *err);

#endif
