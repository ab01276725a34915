/* sync_request.c: the DemandeExport a sync job posts (sync.h, sne_sync_request_json): checked,
 * and in a canonical form (entities in schema order, locations sorted and deduplicated) so that
 * a later run recognises its pending export by comparing requests. */
#include "sync.h"

#include "model/geo.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#define LOCATIONS_MAX 2000 /* codes in --departements or --communes */

/* A department or commune code as the request lists it, NUL-terminated (a commune's is the
 * longest: SNE_COMMUNE_LEN characters). */
typedef struct location_code {
    char c[SNE_COMMUNE_LEN + 1];
} location_code;

static int cmp_code(const void *a, const void *b)
{
    return strcmp(((const location_code *)a)->c, ((const location_code *)b)->c);
}

/* Appends `"name":["a","b"]` from a comma-separated list, checked, sorted and deduplicated. */
static sne_err append_locations(sne_buf *b, const char *name, const char *list,
                                bool (*valid)(const char *, size_t), sne_error *err)
{
    location_code *codes = calloc(LOCATIONS_MAX, sizeof(*codes));
    size_t n = 0;
    sne_err rc = SNE_OK;
    if (!codes)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        p += len + (p[len] == ',');
        while (len > 0 && *s == ' ')
            s++, len--;
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0)
            continue;
        if (!valid(s, len)) {
            rc = sne_error_set(err, SNE_ERR_USAGE, 0, "'%.*s' is not a valid code for --%s",
                               (int)(len > 12 ? 12 : len), s, name);
            goto out;
        }
        if (n == LOCATIONS_MAX) {
            rc = sne_error_set(err, SNE_ERR_USAGE, 0, "more than %d codes for --%s", LOCATIONS_MAX,
                               name);
            goto out;
        }
        memcpy(codes[n++].c, s, len);
    }
    if (n == 0) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "--%s lists no code", name);
        goto out;
    }
    qsort(codes, n, sizeof(*codes), cmp_code);
    rc = sne_buf_printf(b, ",\"%s\":[", name);
    for (size_t i = 0, k = 0; i < n && !rc; i++) {
        if (i > 0 && strcmp(codes[i].c, codes[i - 1].c) == 0)
            continue;
        rc = sne_buf_printf(b, "%s\"%s\"", k++ ? "," : "", codes[i].c);
    }
    if (!rc)
        rc = sne_buf_append_str(b, "]");
    if (rc)
        rc = sne_error_set(err, rc, 0, "request too large");
out:
    free(codes);
    return rc;
}

sne_err sne_sync_request_json(const sne_sync_options *o, sne_buf *out, sne_error *err)
{
    sne_err rc;
    sne_buf_reset(out);
    if ((o->entities & SNE_ENTITY_ALL) == 0 || (o->entities & ~SNE_ENTITY_ALL))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "at least one entity is needed");
    if (o->departements && o->communes)
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "departements and communes are exclusive (contract)");
    if (o->profondeur_drm && !(o->entities & (1u << SNE_ENTITY_DRM)))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the DRM depth needs the DRM entity");
    if (o->profondeur_drm < 0 || o->profondeur_drm > 3)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the DRM depth is 1, 2 or 3 months");
    rc = sne_buf_append_str(out, "{\"entites\":[");
    for (int e = 0, k = 0; e < SNE_ENTITY__COUNT && !rc; e++)
        if (o->entities & (1u << e))
            rc = sne_buf_printf(out, "%s\"%s\"", k++ ? "," : "",
                                sne_entity_info_of((sne_entity)e)->code);
    if (!rc)
        rc = sne_buf_printf(out, "],\"etatDemande\":\"%s\"", o->radiees ? "RADIEE" : "ACTIVE");
    if (rc)
        return sne_error_set(err, rc, 0, "request too large");
    if (o->departements &&
        (rc = append_locations(out, "departements", o->departements, sne_departement_valid, err)))
        return rc;
    if (o->communes &&
        (rc = append_locations(out, "communes", o->communes, sne_commune_valid, err)))
        return rc;
    if (o->profondeur_drm)
        rc = sne_buf_printf(out, ",\"profondeurDrm\":%d", o->profondeur_drm);
    if (!rc)
        rc = sne_buf_append_str(out, "}");
    return rc ? sne_error_set(err, rc, 0, "request too large") : SNE_OK;
}
