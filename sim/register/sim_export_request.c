/* sim_export_request.c: what an export may ask for (sim_export.h): the entity codes, the
 * numeroExport pattern, and the checks of a whole request. */
#include "sim_export.h"

#include <stdio.h>
#include <string.h>

#include "core/sim_geo.h"

static const char *const entity_codes[SIM_ENT__COUNT] = {"CERFA", "DALO", "EVT", "CONT", "ATTRIB",
                                                         "PRIO",  "COTA", "PJ",  "DRM"};

const char *sim_entity_code(int e)
{
    return e >= 0 && e < SIM_ENT__COUNT ? entity_codes[e] : "?";
}

int sim_entity_find(const char *code)
{
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (strcmp(code, entity_codes[e]) == 0)
            return e;
    return -1;
}

int sim_export_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The department or commune codes of the request, each checked. */
static int check_locations(const sim_export_request *req, char *err, size_t errlen)
{
    if (req->n_departements && req->n_communes) {
        snprintf(err, errlen, "departements and communes are exclusive");
        return -1;
    }
    if (req->n_departements > SIM_MAX_LOCATIONS || req->n_communes > SIM_MAX_LOCATIONS) {
        snprintf(err, errlen, "at most %d locations", SIM_MAX_LOCATIONS);
        return -1;
    }
    for (size_t k = 0; k < req->n_departements; k++)
        if (!sim_is_dept_code(req->departements[k])) {
            snprintf(err, errlen, "departement '%.4s': not a department code",
                     req->departements[k]);
            return -1;
        }
    for (size_t k = 0; k < req->n_communes; k++)
        if (!sim_is_commune_code(req->communes[k])) {
            snprintf(err, errlen, "commune '%.6s': not an INSEE code", req->communes[k]);
            return -1;
        }
    return 0;
}

int sim_export_check(const sim_export_request *req, char *err, size_t errlen)
{
    if (!req->entities || req->entities >= (1u << SIM_ENT__COUNT)) {
        snprintf(err, errlen, "entities: a non-empty subset of the nine entities is required");
        return -1;
    }
    if (check_locations(req, err, errlen) != 0)
        return -1;
    if (req->profondeur_drm < 0 || req->profondeur_drm > 3) {
        snprintf(err, errlen, "profondeurDrm: 1..3");
        return -1;
    }
    if (!sim_export_id_valid(req->numero_export)) {
        snprintf(err, errlen, "numeroExport: [0-9A-Za-z_-]{1,40} required");
        return -1;
    }
    return 0;
}
