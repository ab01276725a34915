/* movements_json.h: a page of movements (GDM, GET /demandes/mouvements, contract section 7),
 * parsed strictly and with fixed bounds as status_json.h parses an export's status: nothing
 * allocated, at most SNE_GDM_PAGE_MAX_INPUT bytes, each movement checked (a valid numUnique, a
 * date) and handed to the caller as it is read, oldest first.
 *
 *     sne_movements_page page;
 *     if (sne_movements_parse(body, len, on_movement, ctx, &page, &err) == SNE_OK &&
 * page.curseur[0]) ask for the next page with page.curseur;
 */
#ifndef SNE_MOVEMENTS_JSON_H
#define SNE_MOVEMENTS_JSON_H

#include "../common/error.h"
#include "snesync.h"

#include <stddef.h>

/* A page of movements (GDM): at most SNE_GDM_PAGE_MAX_INPUT bytes (gdm.h SNE_GDM_PAGE_MAX). */
#define SNE_GDM_PAGE_MAX_INPUT (4u * 1024 * 1024)
#define SNE_GDM_CURSOR_MAX     512

typedef struct sne_movements_page {
    char jusque[SNE_DATE_MAX + 1];        /* the end of the sequence's window (required) */
    char curseur[SNE_GDM_CURSOR_MAX + 1]; /* prochainCurseur; "" on the last page */
    size_t count;                         /* movements on the page */
} sne_movements_page;

/* Called for each movement of a page, oldest first: `num` a valid numUnique, `date` its
 * dateMouvement as the server wrote it (at most SNE_DATE_MAX bytes); both valid during the call.
 * A non-zero return stops the parse with that code (the callback sets `err`). */
typedef sne_err (*sne_movement_fn)(void *ctx, const char *num, const char *date, sne_error *err);

/* Parses one page of movements, handing each to fn. SNE_ERR_INVALID when it is not one (a
 * movement without a valid numUnique or date, no jusque, a cursor with a control character or
 * over SNE_GDM_CURSOR_MAX bytes), SNE_ERR_LIMIT over a bound. */
sne_err sne_movements_parse(const char *json, size_t n, sne_movement_fn fn, void *ctx,
                            sne_movements_page *out, sne_error *err);

#endif
