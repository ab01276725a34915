/* movements_json.c: a page of movements (GDM), read by json_reader.h (movements_json.h). */
#include "movements_json.h"

#include "../model/model.h"
#include "json_reader.h"

#include <string.h>

typedef struct movements_ctx {
    sne_movements_page *page;
    sne_movement_fn fn;
    void *fn_ctx;
    unsigned seen;                    /* page members */
    unsigned item_seen;               /* members of the movement being read */
    char num[SNE_NUM_UNIQUE_LEN + 2]; /* one more byte: a longer value fails, never cut */
    char date[SNE_DATE_MAX + 1];
} movements_ctx;

static sne_err on_movement(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    movements_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "numUnique") == 0) {
        if ((rc = sne_json_once(c, &x->item_seen, 1)))
            return rc;
        return sne_json_get_string(c, x->num, sizeof(x->num), false);
    }
    if (strcmp(key, "dateMouvement") == 0) {
        if ((rc = sne_json_once(c, &x->item_seen, 2)))
            return rc;
        return sne_json_get_string(c, x->date, sizeof(x->date), false);
    }
    return sne_json_skip(c);
}

/* One element of the mouvements array: the movement checked, then handed to the caller. */
static sne_err movement(sne_json_cursor *c, void *ctx)
{
    movements_ctx *x = ctx;
    sne_err rc;
    x->item_seen = 0;
    x->num[0] = x->date[0] = '\0';
    if ((rc = sne_json_object(c, on_movement, x)))
        return rc;
    if (!sne_num_unique_valid(x->num) || !x->date[0])
        return sne_json_fail(c, SNE_ERR_INVALID, "a movement without a valid numUnique and a date");
    if ((rc = x->fn(x->fn_ctx, x->num, x->date, c->err)))
        return rc;
    x->page->count++;
    return SNE_OK;
}

static sne_err on_movements_page(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    movements_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "mouvements") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1)))
            return rc;
        return sne_json_array(c, movement, x);
    }
    if (strcmp(key, "jusque") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 2)))
            return rc;
        return sne_json_get_string(c, x->page->jusque, sizeof(x->page->jusque), false);
    }
    if (strcmp(key, "prochainCurseur") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 4)))
            return rc;
        return sne_json_get_string(c, x->page->curseur, sizeof(x->page->curseur), false);
    }
    return sne_json_skip(c);
}

sne_err sne_movements_parse(const char *json, size_t n, sne_movement_fn fn, void *ctx,
                            sne_movements_page *out, sne_error *err)
{
    memset(out, 0, sizeof(*out));
    movements_ctx x = {.page = out, .fn = fn, .fn_ctx = ctx};
    sne_err rc = sne_json_document(json, n, SNE_GDM_PAGE_MAX_INPUT, on_movements_page, &x, err);
    if (rc)
        return rc;
    if (!(x.seen & 1u) || !out->jusque[0])
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "movements page: mouvements or jusque missing");
    for (const char *p = out->curseur; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return sne_error_set(err, SNE_ERR_INVALID, 0,
                                 "movements page: prochainCurseur holds a control character");
    return SNE_OK;
}
