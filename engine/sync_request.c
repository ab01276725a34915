/* sync_request.c: the DemandeExport a sync job posts (sync.h, sne_sync_request_json): checked,
 * and in a canonical form (entities in schema order, locations sorted and deduplicated) so that
 * a later run recognises its pending export by comparing requests. */
#include "sync.h"

#include "model/geo.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#define LOCATIONS_MAX 2000 /* codes in --departements or --communes */

/* Appends `"name":["a","b"]` from a comma-separated list, checked, sorted and deduplicated. */
static sne_err append_locations(sne_buf *b, sne_location_kind kind, const char *list,
                                sne_error *err)
{
    sne_location_list *codes = malloc(sizeof(*codes));
    if (!codes)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    sne_err rc = sne_location_list_parse(codes, kind, list, LOCATIONS_MAX, err);
    if (rc)
        goto out;
    rc = sne_buf_printf(b, ",\"%s\":[",
                        kind == SNE_LOCATION_DEPARTEMENTS ? "departements" : "communes");
    for (size_t i = 0; i < codes->n && !rc; i++)
        rc = sne_buf_printf(b, "%s\"%s\"", i ? "," : "", codes->codes[i]);
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
        (rc = append_locations(out, SNE_LOCATION_DEPARTEMENTS, o->departements, err)))
        return rc;
    if (o->communes && (rc = append_locations(out, SNE_LOCATION_COMMUNES, o->communes, err)))
        return rc;
    if (o->profondeur_drm)
        rc = sne_buf_printf(out, ",\"profondeurDrm\":%d", o->profondeur_drm);
    if (!rc)
        rc = sne_buf_append_str(out, "}");
    return rc ? sne_error_set(err, rc, 0, "request too large") : SNE_OK;
}
