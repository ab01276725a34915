/* sync.h: the sync job: one export requested from the service, polled, downloaded while it is
 * ingested, verified, then released (exports-api.yaml, contract README §1).
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
 * inspection. Store and disk errors keep the note: the next run resumes.
 *
 *     sne_sync_options o;
 *     sne_sync_options_default(&o);
 *     o.fetch.server = url; o.job = "sync"; o.entities = ...; o.work_dir = dir;
 *     sne_sync_run(store, &o, &summary, &err);
 */
#ifndef SNE_SYNC_H
#define SNE_SYNC_H

#include "fetch/fetch.h"
#include "ingest.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum sne_sync_phase {
    SNE_SYNC_POSTED,      /* an export was requested and its number saved */
    SNE_SYNC_POLLING,     /* one status answer (statut, progression, polls) */
    SNE_SYNC_DOWNLOADING, /* bytes on disk (downloaded, total); from the download thread */
    SNE_SYNC_INGESTING,   /* a batch of demands committed (demands, ingested_bytes) */
    SNE_SYNC_SWEEPING,    /* the archive is verified; absent demands are being deleted */
    SNE_SYNC_RELEASING,   /* ingested; DELETE of the export */
} sne_sync_phase;

const char *sne_sync_phase_name(sne_sync_phase p);

typedef struct sne_sync_progress {
    sne_sync_phase phase;
    const char *numero;
    sne_statut statut;
    int progression; /* -1 when unknown */
    unsigned polls;
    uint64_t downloaded; /* bytes of the archive on disk */
    uint64_t total;      /* its announced size, 0 before TERMINE */
    uint64_t resumed_from;
    uint64_t ingested_bytes; /* archive bytes read by the ingest */
    uint64_t demands;
} sne_sync_progress;

typedef struct sne_sync_options {
    sne_fetch_options fetch;  /* server, TLS, token, timeouts, retries, clock */
    const char *job;          /* names the note and the work sub-directory: "sync", "drm-refresh" */
    sne_entity_set entities;  /* at least one */
    bool radiees;             /* etatDemande RADIEE rather than ACTIVE */
    const char *departements; /* comma-separated codes, or NULL (exclusive with communes) */
    const char *communes;     /* comma-separated INSEE codes, or NULL */
    int profondeur_drm;       /* 1..3 with DRM, 0: not sent (the server's default, 3) */
    const char *work_dir;     /* downloads go to WORK/JOB/ (created 0700) */
    double max_wait;          /* seconds of polling before giving up; 0: 24 h */
    unsigned max_exports;     /* exports requested in one run (ECHEC, EXPIRE); 0: 3 */
    size_t batch_demands;     /* the ingest's transaction size; 0: its default */
    /* Called from this thread, and (SNE_SYNC_DOWNLOADING only) from the download thread: it
     * must be thread-safe. May be NULL. */
    void (*progress)(void *ctx, const sne_sync_progress *p);
    void *progress_ctx;
} sne_sync_options;

void sne_sync_options_default(sne_sync_options *o);

typedef struct sne_sync_summary {
    char numero[SNE_NUMERO_MAX + 1];
    bool resumed;               /* a pending export of an earlier run was picked up */
    unsigned exports_requested; /* POSTs made by this run */
    unsigned polls;
    uint64_t archive_bytes;
    uint64_t downloaded_bytes; /* fetched from the server by this run */
    uint64_t resumed_from;     /* bytes already on disk when this run started the download */
    bool ingested;             /* the ingest ran in this run */
    sne_ingest_summary ingest; /* valid when ingested */
    bool released;             /* the export was DELETEd on the server */
    char warning[1024];        /* what did not stop the job, "; " between two: a failed DELETE, an
                                  export replaced and why (ECHEC: the server's code and message) */
    char archive_path[1024];   /* the archive kept on disk, "" if none */
    double seconds;            /* the whole run */
    double seconds_waiting;    /* requesting and polling, until the export was TERMINE */
    double seconds_transfer;   /* downloading and ingesting at once, verification included */
} sne_sync_summary;

/* Runs the job against the writable store `s` until the export is ingested and released, or an
 * error. SNE_ERR_HTTP / SNE_ERR_NETWORK: the server refused or could not be reached (the note
 * is kept when the export may still be resumed); the ingest's own errors otherwise. */
sne_err sne_sync_run(sne_store *s, const sne_sync_options *o, sne_sync_summary *sum,
                     sne_error *err);

/* The DemandeExport JSON the job would POST (a canonical form: entities in schema order,
 * locations sorted and deduplicated). Checks the request: SNE_ERR_USAGE with why. */
sne_err sne_sync_request_json(const sne_sync_options *o, sne_buf *out, sne_error *err);

#endif
