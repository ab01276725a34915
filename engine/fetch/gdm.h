/* gdm.h: the incremental side of the service (contract section 7): the movements (GDM) of a
 * window, page by page, and the query of a unit read.
 *
 * What flows: a window (depuis, the scope's location filter) in; each moved demand's number out
 * through a callback, oldest first, and the window's end (`jusque`, the server's instant, never
 * this machine's clock) once the last page has been read. The calls run on fetch's retries
 * (fetch_internal.h); the pages are parsed by movements_json.h. Nothing here knows the store.
 *
 *     sne_gdm_window w = {.depuis = "2026-11-01T02:00:00.000+01:00", .location = ...};
 *     char jusque[SNE_DATE_MAX + 1];
 *     if (sne_gdm_list(f, &w, on_movement, ctx, jusque, &err)) ...;
 *     char q[SNE_GDM_READ_QUERY_MAX];
 *     sne_gdm_read_query(entities, depth, q, sizeof(q));
 *     sne_gdm_read_demand(f, num, q, &body, &err);
 */
#ifndef SNE_GDM_H
#define SNE_GDM_H

#include "../common/error.h"
#include "../model/model.h"
#include "fetch.h"
#include "movements_json.h"

#include <stddef.h>

/* Bounds of the bodies the GDM calls keep: a page of movements (a thousand movements take about
 * 80 KB), and one demand's export document (the parser takes at most 32 MiB of items). */
#define SNE_GDM_PAGE_MAX     SNE_GDM_PAGE_MAX_INPUT
#define SNE_GDM_DOCUMENT_MAX (64u * 1024 * 1024)
/* Pages of one sequence: past it, the sequence is an error (a server that keeps giving cursors). */
#define SNE_GDM_MAX_PAGES 100000
/* Bytes of a query: the window's dates and cursor, and up to SNE_MAX_LOCATIONS codes. */
#define SNE_GDM_QUERY_MAX (2048 + SNE_MAX_LOCATIONS * 12)
/* Bytes of a unit read's query: every entity, and profondeurDrm. */
#define SNE_GDM_READ_QUERY_MAX 256

typedef struct sne_gdm_window {
    const char *depuis; /* xs:dateTime, the window's start (borrowed) */
    const char *jusque; /* xs:dateTime, or NULL: the server's instant when the sequence begins */
    sne_location_kind location;
    size_t n_locations;
    const char (*locations)[SNE_LOCATION_CODE_MAX + 1]; /* borrowed: departments or communes */
} sne_gdm_window;

/* Lists the movements of window `w`, page after page, calling fn for each (see sne_movement_fn;
 * a demand may come more than once). On success `jusque` (SNE_DATE_MAX + 1 bytes) holds the end
 * of the window the server echoed, an xs:dateTime, the same on every page (a page that says
 * otherwise is SNE_ERR_INVALID). Errors: fetch's (SNE_ERR_HTTP 400 for a depuis too far back), the
 * parser's, fn's, SNE_ERR_LIMIT past SNE_GDM_MAX_PAGES or a query over SNE_GDM_QUERY_MAX. */
sne_err sne_gdm_list(sne_fetch *f, const sne_gdm_window *w, sne_movement_fn fn, void *ctx,
                     char *jusque, sne_error *err);

/* GET /demandes/{num}`query` (sne_gdm_read_query): the unit read, an export document of that one
 * demand, into `body`, which the caller owns (initialised or empty; replaced), at most
 * SNE_GDM_DOCUMENT_MAX bytes (more is an error). A demand the register no longer knows is
 * SNE_ERR_HTTP with lib_code 404. Retried as every call (429 and 503 with Retry-After, timeouts,
 * cuts); an answer that is not XML is retried as a proxy's page would be. */
sne_err sne_gdm_read_demand(sne_fetch *f, const char *num, const char *query, sne_buf *body,
                            sne_error *err);

/* The query of a unit read ("?entites=CERFA&entites=EVT...[&profondeurDrm=N]") of the entities
 * in `entities` (non-empty) and DRM depth `depth` (1..3, 0 for the server's default) into
 * out[cap]; cap SNE_GDM_READ_QUERY_MAX is always enough. */
void sne_gdm_read_query(sne_entity_set entities, unsigned depth, char *out, size_t cap);

#endif
