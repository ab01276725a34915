/* serve_request.h: strict parsing of a DemandeExport JSON body (POST /v1.0/exports). */
#ifndef SIM_SERVE_REQUEST_H
#define SIM_SERVE_REQUEST_H

#include <stddef.h>

#include "register/sim_export.h"

/* Parses and validates `body` (len bytes, need not be NUL-terminated) into `req` (entities,
 * radiees, departements or communes, profondeur_drm; the other fields are zeroed).
 * Rejects: malformed JSON, unknown or repeated members, wrong types, an empty or repeated entity,
 * codes outside the contract's patterns, both departements and communes, more than
 * SIM_MAX_LOCATIONS locations, profondeurDrm outside 1..3 or without DRM.
 * Returns 0, or -1 with a message (no personal data: only field names and codes) in err. */
int serve_request_parse(const char *body, size_t len, sim_export_request *req, char *err,
                        size_t errlen);

#endif
