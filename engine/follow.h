/* follow.h: the incremental sync (contract sections 7 and 8): the movements (GDM) of the window
 * since the last one, and a unit read of every demand that moved, applied to the store.
 *
 * The window: from the end of the last window followed for the same scope (the note "follow"),
 * or, the first time, from the newest complete export applied for that scope (for each entity
 * asked, its newest export; the oldest of those), minus the overlap; to the server's `jusque`.
 * Its end is recorded (in the note, after the last read is committed) only when every demand of
 * the window is in the store: a run killed at any point is run again from the same start, and
 * the reads it repeats change nothing (a read of unchanged data logs nothing).
 *
 * The reads: each moved demand is read once (a demand moved twice is read once), up to
 * `parallel` at once, and applied in numUnique order (sne_store_apply_read): a demand read out
 * of the scope (RADIEE while the scope is ACTIVE, or the reverse; no sought commune in the
 * scope's departments or communes; 404) loses its entities. CERFA is always read (the sought
 * communes decide the scope) but changes only when the scope asks for it.
 *
 * Etiquette: one movements sequence per `min_interval` (an hour): a run within it calls nothing
 * and says so (sum->skipped). A store whose window starts more than 7 days back (the server
 * refuses it: 400), or that holds no complete export of the scope, gets SNE_ERR_BEHIND: a full
 * sync is needed, it is never resynchronised here.
 *
 *     sne_follow_options o;
 *     sne_follow_options_default(&o);
 *     o.fetch.server = url; o.entities = ...; o.departements = "38,26";
 *     sne_follow_run(store, &o, &summary, &err);
 */
#ifndef SNE_FOLLOW_H
#define SNE_FOLLOW_H

#include "fetch/fetch.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define SNE_FOLLOW_MAX_MOVED (4u * 1000 * 1000) /* distinct demands in one window */

typedef struct sne_follow_options {
    sne_fetch_options fetch;  /* server, TLS, token, retries (each reading thread its own) */
    sne_entity_set entities;  /* the scope: at least one entity */
    bool radiees;             /* the scope mirrors RADIEE demands rather than ACTIVE ones */
    const char *departements; /* comma-separated codes, or NULL (exclusive with communes) */
    const char *communes;     /* comma-separated INSEE codes, or NULL */
    unsigned profondeur_drm;  /* 1..3, 0: the server's default (3) */
    unsigned overlap;         /* seconds the window starts before the last one ended; 600 */
    unsigned parallel;        /* reads at once, 1..4; 4 */
    double min_interval;      /* seconds between two movement sequences; 3600 */
    size_t batch_reads;       /* reads per transaction; 256 */
    /* Called after each batch committed with the reads applied so far (tests kill there);
     * may be NULL. */
    void (*progress)(void *ctx, uint64_t moved, uint64_t applied);
    void *progress_ctx;
} sne_follow_options;

void sne_follow_options_default(sne_follow_options *o);

typedef struct sne_follow_summary {
    bool skipped;               /* within min_interval of the last sequence: nothing called */
    double since_last;          /* seconds since the last sequence began (when skipped) */
    char depuis[48], jusque[48]; /* the window asked (SNE_ISOTIME_UTC_LEN used) and the
                                    server's end of it */
    uint64_t movements;         /* listed, a demand moved twice counted twice */
    uint64_t demands_read;      /* distinct demands read */
    uint64_t left_scope;        /* of which out of the scope or unknown (404) */
    sne_apply_stats stats;      /* creates, updates, deletes, unchanged items */
    double seconds, seconds_reading;
} sne_follow_summary;

/* Follows the movements into the writable store `s`. Errors: SNE_ERR_BEHIND (a full sync is
 * needed), SNE_ERR_USAGE (bad scope), fetch's (SNE_ERR_HTTP, SNE_ERR_NETWORK), a document that
 * is not a valid read (SNE_ERR_INVALID...), the store's. */
sne_err sne_follow_run(sne_store *s, const sne_follow_options *o, sne_follow_summary *sum,
                       sne_error *err);

#endif
