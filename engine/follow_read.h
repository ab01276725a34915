/* follow_read.h: the unit reads of a follow (contract sections 7 and 8), up to
 * SNE_FOLLOW_MAX_PARALLEL at once, handed back one at a time in the order asked.
 *
 * What flows: a list of demand numbers in; for each, in that order, the demand as read (a sealed
 * record parsed from the document by the export parser, with the document's header), or "not
 * found" (404). Worker threads, one sne_fetch handle each, read ahead of the caller by at most
 * FOLLOW_READ_AHEAD documents, so memory stays bounded whatever the list's length; the caller
 * (the store's only writer) takes the results in order, which keeps the change log's order
 * independent of the network. Retries (429 and 503 with Retry-After, timeouts, cuts) are
 * fetch.h's.
 *
 *     follow_reader *r;
 *     follow_reader_start(&r, &fetch_options, parallel, stop, nums, n, query, &err);
 *     for (size_t i = 0; i < n; i++) { follow_result *res; follow_reader_next(r, &res, &err); ... }
 *     follow_reader_stop(r, &retries);
 */
#ifndef SNE_FOLLOW_READ_H
#define SNE_FOLLOW_READ_H

#include "common/error.h"
#include "fetch/fetch.h"
#include "model/model.h"
#include "model/record.h"

#include <stdbool.h>
#include <stddef.h>

#define SNE_FOLLOW_MAX_PARALLEL 4  /* the contract's reads at once per guichet */
#define FOLLOW_READ_AHEAD       64 /* documents read ahead of the caller at most */

/* One read, as the caller gets it. */
typedef struct follow_result {
    bool not_found;           /* 404: the register no longer knows the number */
    sne_export_header header; /* the document's entete (locations none: a read has none) */
    sne_record *record;       /* the demand read, sealed; NULL when not_found */
} follow_result;

typedef struct follow_reader follow_reader;

/* Starts `parallel` (1..SNE_FOLLOW_MAX_PARALLEL) workers reading nums[0..n) (borrowed, NUL-
 * terminated numbers, until follow_reader_stop) with the unit read query `query` (copied). Once
 * *stop (borrowed, NULL: never) is set, the reads under way end with SNE_ERR_NETWORK. */
sne_err follow_reader_start(follow_reader **out, const sne_fetch_options *fo, unsigned parallel,
                            const volatile sig_atomic_t *stop, char (*nums)[SNE_NUM_UNIQUE_LEN + 1],
                            size_t n, const char *query, sne_error *err);
/* The next read, in list order: *res is borrowed until the next call or the stop. An error is
 * the first one met for this number (the server's final answer, the network after retries, a
 * document that is not one demand's valid export document); the reads after it are abandoned. */
sne_err follow_reader_next(follow_reader *r, follow_result **res, sne_error *err);
/* Cancels what is still running, joins the workers, adds the attempts their reads repeated after
 * a transient failure to *retries (when not NULL), frees everything; accepts NULL. */
void follow_reader_stop(follow_reader *r, unsigned *retries);

#endif
