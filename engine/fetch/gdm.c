/* gdm.c: the calls of the movements API (gdm.h): the movements of a window, page by page, and
 * the unit read with its query. Each runs through the retries of fetch_retry.c. */
#include "gdm.h"

#include "fetch_internal.h"

#include "../common/buffer.h"
#include "../common/isotime.h"

#include <stdio.h>
#include <string.h>

/* Appends `s` percent-encoded (RFC 3986 unreserved characters as they are). */
static sne_err append_encoded(sne_buf *q, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    sne_err rc = SNE_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = sne_buf_append_byte(q, *p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = sne_buf_append(q, e, 3);
        }
    }
    return rc;
}

static sne_err append_param(sne_buf *q, const char *name, const char *value)
{
    sne_err rc = sne_buf_append_str(q, q->len ? "&" : "");
    if (!rc)
        rc = sne_buf_append_str(q, name);
    if (!rc)
        rc = sne_buf_append_byte(q, '=');
    return rc ? rc : append_encoded(q, value);
}

/* GET f->api followed by `path` and `query`, answered with `answer` of at most `max` bytes, into
 * *body (replaced). `what` names the call in messages: never the query. */
static sne_err gdm_get(sne_fetch *f, const char *what, sne_fetch_answer answer, size_t max,
                       const char *path, const char *query, sne_buf *body, sne_error *err)
{
    sne_fetch_call c = {.method = "GET", .answer = answer, .body_max = max};
    snprintf(c.what, sizeof(c.what), "%s", what);
    sne_err rc = sne_fetch_call_url(&c, err, f->api, path, query, "");
    return rc ? rc : sne_fetch_call_run(f, &c, body, err);
}

sne_err sne_gdm_read_demand(sne_fetch *f, const char *num, const char *query, sne_buf *body,
                            sne_error *err)
{
    char what[SNE_FETCH_WHAT_MAX], path[SNE_NUM_UNIQUE_LEN + 16];
    if (!sne_num_unique_valid(num))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad demand number");
    snprintf(what, sizeof(what), "GET /demandes/%s", num);
    snprintf(path, sizeof(path), "/demandes/%s", num); /* fits: the number is valid */
    return gdm_get(f, what, SNE_FETCH_ANSWER_XML, SNE_GDM_DOCUMENT_MAX, path, query, body, err);
}

/* The query of one page (NUL-terminated in q); `curseur` NULL on the first page. */
static sne_err page_query(const sne_gdm_window *w, const char *jusque, const char *curseur,
                          sne_buf *q, sne_error *err)
{
    sne_buf_reset(q);
    sne_err rc = append_param(q, "depuis", w->depuis);
    if (!rc && jusque)
        rc = append_param(q, "jusque", jusque);
    const char *name = w->location == SNE_LOCATION_COMMUNES ? "communes" : "departements";
    for (size_t i = 0; !rc && w->location != SNE_LOCATION_ALL && i < w->n_locations; i++)
        rc = append_param(q, name, w->locations[i]);
    if (!rc && curseur)
        rc = append_param(q, "curseur", curseur);
    if (!rc)
        rc = sne_buf_append_byte(q, '\0');
    if (rc)
        return sne_error_set(err, SNE_ERR_LIMIT, 0, "the movements query is over %d bytes",
                             SNE_GDM_QUERY_MAX);
    return SNE_OK;
}

sne_err sne_gdm_list(sne_fetch *f, const sne_gdm_window *w, sne_movement_fn fn, void *ctx,
                     char *jusque, sne_error *err)
{
    sne_buf q, body;
    sne_movements_page page;
    char curseur[SNE_GDM_CURSOR_MAX + 1] = "";
    sne_err rc = SNE_OK;
    sne_buf_init(&q, SNE_GDM_QUERY_MAX);
    sne_buf_init(&body, SNE_GDM_PAGE_MAX);
    jusque[0] = '\0';
    for (unsigned pages = 0;; pages++) {
        if (pages == SNE_GDM_MAX_PAGES) {
            rc =
                sne_error_set(err, SNE_ERR_LIMIT, 0, "movements: over %d pages", SNE_GDM_MAX_PAGES);
            goto out;
        }
        /* The first page fixes the window's end; the next ones ask for it explicitly, so the
         * window cannot move even on a server whose cursor does not carry it. */
        if ((rc = page_query(w, jusque[0] ? jusque : w->jusque, curseur[0] ? curseur : NULL, &q,
                             err)) ||
            (rc = gdm_get(f, "GET /demandes/mouvements", SNE_FETCH_ANSWER_JSON, SNE_GDM_PAGE_MAX,
                          "/demandes/mouvements?", (const char *)q.data, &body, err)) ||
            (rc = sne_movements_parse((const char *)body.data, body.len, fn, ctx, &page, err)))
            goto out;
        int64_t ms;
        if (!sne_isotime_parse(page.jusque, &ms)) {
            rc = sne_error_set(err, SNE_ERR_INVALID, 0,
                               "movements: page %u: jusque is not an xs:dateTime", pages + 1);
            goto out;
        }
        if (jusque[0] && strcmp(jusque, page.jusque) != 0) {
            rc = sne_error_set(err, SNE_ERR_INVALID, 0,
                               "movements: page %u ends its window at another instant than the "
                               "first page",
                               pages + 1);
            goto out;
        }
        memcpy(jusque, page.jusque, sizeof(page.jusque));
        if (!page.curseur[0])
            break;
        memcpy(curseur, page.curseur, sizeof(curseur));
    }
out:
    if (rc)
        jusque[0] = '\0';
    sne_buf_free(&q);
    sne_buf_free(&body);
    return rc;
}

void sne_gdm_read_query(sne_entity_set entities, unsigned depth, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        if (entities & (1u << e)) {
            int k =
                snprintf(out + n, cap - n, "%s%s",
                         n ? "&entites=" : "?entites=", sne_entity_info_of((sne_entity)e)->code);
            if (k < 0 || (size_t)k >= cap - n)
                return;
            n += (size_t)k;
        }
    if (depth >= 1 && depth <= SNE_DRM_PERIODS)
        snprintf(out + n, cap - n, "&profondeurDrm=%u", depth);
}
