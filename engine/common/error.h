/* error.h: the one error enum of snesync, and the detail a handle keeps about its last error.
 *
 * Every function that can fail returns an sne_err (0 is success). Modules that own a handle keep
 * an sne_error alongside it: the code, the underlying library's own code (MDB rc, libarchive
 * errno, libxml2 error number, CURLcode), and a message that names where (member, line, demand
 * number) but never the personal data being processed. */
#ifndef SNE_ERROR_H
#define SNE_ERROR_H

#include <stddef.h>

typedef enum sne_err {
    SNE_OK = 0,
    SNE_ERR_NOMEM,      /* allocation failed */
    SNE_ERR_LIMIT,      /* a configured size, depth or count limit was exceeded */
    SNE_ERR_IO,         /* read/write/open of a file failed */
    SNE_ERR_ARCHIVE,    /* the archive is not a readable gzip tar, or is truncated */
    SNE_ERR_XML,        /* a document is not well-formed, or uses a forbidden construct (DTD) */
    SNE_ERR_INVALID,    /* well-formed but violates the export contract */
    SNE_ERR_INCOMPLETE, /* an export that cannot be proven complete (parts, counts, sha256) */
    SNE_ERR_STALE,      /* the export is older than the data held for its scope */
    SNE_ERR_STORE,      /* LMDB reported an error */
    SNE_ERR_BUSY,       /* another process holds the store's writer lock */
    SNE_ERR_USAGE,      /* a caller passed arguments that make no sense */
    SNE_ERR_NOTFOUND,   /* the thing asked for does not exist */
    SNE_ERR_CORRUPT,    /* stored data does not decode: the store was damaged */
    SNE_ERR_HTTP,       /* the server answered with a final error */
    SNE_ERR_NETWORK,    /* transport failure that retries did not cure */
    SNE_ERR_RANGE,      /* a change log cursor before the first change held or after the last */
    SNE_ERR_MISMATCH,   /* a database mirroring the store does not follow on from it (pruned
                           past, another store, ahead of it, a newer schema) */
    SNE_ERR_DATABASE,   /* a database failed or could not be reached (nothing half-applied) */
    SNE_ERR_BEHIND,     /* a store too far behind to follow the movements: a full sync first */
    SNE_ERR__COUNT
} sne_err;

/* The last error of a handle. `code` is SNE_OK when there is none. */
typedef struct sne_error {
    sne_err code;
    int lib_code;      /* the library's own code, or 0 */
    char message[512]; /* human-readable; never holds personal data */
} sne_error;

/* A static string describing `code`; never NULL. */
const char *sne_strerror(sne_err code);

/* Records an error in `e` (which may be NULL) and returns `code`, so that callers can write
 * `return sne_error_set(e, SNE_ERR_IO, errno, "cannot open %s", path);`. */
sne_err sne_error_set(sne_error *e, sne_err code, int lib_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the message already held in `e` with more context ("member X: " + old message). */
void sne_error_prefix(sne_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sne_error_clear(sne_error *e);

#endif
