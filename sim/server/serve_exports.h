/* serve_exports.h: the exports of `snesync-sim serve` and their state machine.
 *
 *   POST -> EN_ATTENTE -> EN_COURS -> TERMINE -> (expire-seconds) EXPIRE
 *                                  \-> ECHEC
 * Each accepted export runs in its own worker thread that calls sim_export_write() into the work
 * directory; the progress callback and --generation-seconds drive `progression`. DELETE releases
 * an export at any state (a running generation finishes in the background, its file is removed).
 * Bounded: at most SERVE_MAX_EXPORTS kept, SERVE_MAX_RUNNING generating, one generating per
 * guichet. All functions are thread-safe. */
#ifndef SIM_SERVE_EXPORTS_H
#define SIM_SERVE_EXPORTS_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "serve_faults.h"
#include "serve_reply.h"

#define SERVE_MAX_EXPORTS 64
#define SERVE_MAX_RUNNING 4

typedef struct serve_exports_config {
    const char *data_dir;      /* borrowed for the life of the table */
    const char *work_dir;      /* existing directory, borrowed likewise */
    unsigned retry_after;      /* seconds announced while EN_ATTENTE/EN_COURS, and on 429/503 */
    double min_poll;           /* status polls of one export closer than this get 429 */
    uint64_t expire_seconds;   /* TERMINE -> EXPIRE */
    double generation_seconds; /* minimal duration of a generation */
    serve_faults *faults;      /* borrowed, may be NULL */
} serve_exports_config;

typedef struct serve_exports serve_exports;

/* NULL when out of memory. */
serve_exports *serve_exports_new(const serve_exports_config *cfg);
/* Stops accepting work, waits for running generations, removes every export file. NULL-safe. */
void serve_exports_free(serve_exports *x);

/* Handlers: each queues exactly one reply on `ex`. `guichet` is the caller's identity;
 * `id` is a syntactically valid numeroExport. */
enum MHD_Result serve_exports_post(serve_exports *x, serve_exchange *ex, const char *guichet,
                                   const char *body, size_t len);
enum MHD_Result serve_exports_status(serve_exports *x, serve_exchange *ex, const char *id);
enum MHD_Result serve_exports_delete(serve_exports *x, serve_exchange *ex, const char *id);

/* What a download needs to know about an export. */
typedef struct serve_export_file {
    int fd;          /* owned by the caller when state is TERMINE (close it), else -1 */
    uint64_t size;   /* bytes of the file as it is on disk */
    char sha256[65]; /* as announced in the status (the ETag) */
} serve_export_file;

typedef enum serve_file_state {
    SERVE_FILE_OK,
    SERVE_FILE_UNKNOWN,   /* 404 */
    SERVE_FILE_NOT_READY, /* 409: EN_ATTENTE, EN_COURS or ECHEC */
    SERVE_FILE_GONE,      /* 410: EXPIRE */
    SERVE_FILE_ERROR,     /* 500: the file could not be opened */
} serve_file_state;

/* Opens the archive of export `id` for reading when it is TERMINE. */
serve_file_state serve_exports_open_file(serve_exports *x, const char *id, serve_export_file *out);

#endif
