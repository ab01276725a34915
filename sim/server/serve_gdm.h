/* serve_gdm.h: GET /v1.0/demandes/mouvements over DIR/mouvements.tsv.
 *
 * mouvements.tsv is written by the register side, one movement a line, sorted by date:
 *     numUnique TAB dateMouvement [TAB communes [TAB guichet]]
 * where the optional third column lists the INSEE codes of the demand's sought communes
 * (comma-separated) and the optional fourth the guichet that made the movement. Malformed lines
 * are skipped (and counted in the log). A missing file means no movement.
 *
 * Query: depuis (required, xs:dateTime, at most 7 days before the newest register date: the
 * later of register.txt's snapshot and the newest dateMouvement, or now when there is neither),
 * jusque (optional, inclusive), departements,
 * communes, guichetsExclus (repeated parameters or comma-separated lists), curseur. Unknown
 * parameters are a 400.
 * Filters, applied as well as the data allows:
 *   - departements: the demand's communes (third column) when present, else the department in
 *     the leading digits of numUnique ("075..." is 75, "02A..." is 2A, "971..." is 971);
 *   - communes: the third column when present, else the department of numUnique against the
 *     departments of the requested communes (over-inclusive: GDM is a hint list, and a client
 *     re-fetches what it lists, so listing too much is safe, too little is not);
 *   - both departements and communes: a movement matching either is listed;
 *   - guichetsExclus: the fourth column when present, else the trailing guichet of numUnique.
 * Pages hold --gdm-page-size movements, oldest first; prochainCurseur is absent on the last page.
 * Every page echoes `jusque`, the end of the window the sequence covers: the jusque asked for,
 * else the server's instant when the sequence began (the register's newest date, as above),
 * written "YYYY-MM-DDTHH:MM:SS.mmmZ". The cursor (opaque: a line number and that end) keeps the
 * window of the first page; it is valid with the same other parameters. */
#ifndef SIM_SERVE_GDM_H
#define SIM_SERVE_GDM_H

#include <microhttpd.h>
#include <stddef.h>

#include "serve_reply.h"

typedef struct serve_gdm_config {
    const char *data_dir; /* borrowed */
    size_t page_size;     /* 1..10000 */
} serve_gdm_config;

/* Queues exactly one reply on `ex`: 200 or 400 (problem+json), or 500 on a read error. */
enum MHD_Result serve_gdm(const serve_gdm_config *cfg, serve_exchange *ex);

#endif
