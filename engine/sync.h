/* sync.h: the sync job: one export requested from the service, polled, downloaded while it is
 * ingested, verified, then released (exports-api.yaml, contract README §1). Its options, summary
 * and functions are public (snesync.h); this is how it works.
 *
 * Phases, and what a restart after a kill at each one does (the job's state is a store note
 * named after the job, holding the server, the request, the export number, its phase and, once
 * TERMINE, its size and sha256):
 *
 *   (no note)   POST /exports                         -> note {numero, phase requested}
 *   requested   GET /exports/{n} every Retry-After     -> note {phase ready, taille, sha256}
 *   ready       download to WORK/JOB/EXPORT_n.tar.gz.part (0600) and, at the same time, ingest:
 *               a download thread appends to the file; the ingest (this thread) reads the file
 *               behind it and waits for more when it catches up, so the file is the buffer
 *               between the two. A restart replays the bytes already on disk into the ingest,
 *               then continues the download with Range from there.
 *               The ingest gets the announced size and sha256 (expect_size, expect_sha256): no
 *               deletion happens unless the archive matches them.   -> note {phase ingested}
 *   ingested    DELETE /exports/{n}; the archive is kept as WORK/JOB/EXPORT_n.tar.gz (the
 *               previous one is removed); the note is cleared.
 *
 * A pending export is picked up only by the same job with the same server and request; another
 * request releases it (DELETE) and starts afresh. An export that ends ECHEC or EXPIRE, or whose
 * file is gone (410) before it was all downloaded, is replaced by a new one (at most
 * max_exports per run); why (for ECHEC, the server's erreur.code and message, printable and
 * bounded) is a warning of the summary, and part of the error when the last one fails too. A
 * bad archive (not gzip, truncated, malformed, wrong size or sha256) or a stale one ends the run
 * with the ingest's error, nothing deleted; the export is released and the note cleared so that
 * the next run asks for a fresh export, and the bad file is kept as EXPORT_n.tar.gz.bad for
 * inspection. Store and disk errors keep the note: the next run resumes. */
#ifndef SNE_SYNC_H
#define SNE_SYNC_H

#include "fetch/fetch.h"
#include "ingest.h"
#include "snesync.h"
#include "store/store.h"

#endif
