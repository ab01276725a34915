/* sim_export.h: writing one export archive from a simulated register (snesync-sim).
 *
 * This is the seam between the register side of the simulator (generate, evolve, export) and its
 * HTTP side (serve): the server calls sim_export_write() in a worker thread to "prepare" an export,
 * then serves the file it wrote. The function is thread-safe for distinct out_path values. */
#ifndef SIM_EXPORT_H
#define SIM_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim_register.h"
#include "sim_xml.h"

/* Entities, in contract order; bit (1u << SIM_ENT_x) in sim_export_request.entities. */
enum {
    SIM_ENT_CERFA,
    SIM_ENT_DALO,
    SIM_ENT_EVT,
    SIM_ENT_CONT,
    SIM_ENT_ATTRIB,
    SIM_ENT_PRIO,
    SIM_ENT_COTA,
    SIM_ENT_PJ,
    SIM_ENT_DRM,
    SIM_ENT__COUNT
};

/* The contract's code of entity e ("CERFA", ...), and the entity of a code (-1 if none). */
const char *sim_entity_code(int e);
int sim_entity_find(const char *code);

#define SIM_MAX_LOCATIONS 128

typedef struct sim_export_request {
    unsigned entities; /* non-empty set of SIM_ENT_ bits */
    int radiees;       /* 0: etatDemande ACTIVE, 1: RADIEE */
    /* The scope: at most one of n_departements and n_communes is non-zero. */
    size_t n_departements;
    char departements[SIM_MAX_LOCATIONS][4]; /* "38", "2A", "974" */
    size_t n_communes;
    char communes[SIM_MAX_LOCATIONS][6]; /* INSEE codes, "38185" */
    int profondeur_drm;                  /* 1..3; 0 means the default, 3 */
    char numero_export[41];              /* entete/numeroExport, [0-9A-Za-z_-]{1,40} */
    /* 0: a single part; else parts of at most this many demands. */
    size_t demands_per_part;
    /* Progress callback, may be NULL: called now and then with 0..100. */
    void (*progress)(void *ctx, int percent);
    void *progress_ctx;
} sim_export_request;

typedef struct sim_export_result {
    uint64_t size;            /* bytes of the archive written */
    char sha256[65];          /* lowercase hex of the archive */
    uint64_t nombre_demandes; /* demande elements across all parts */
    char date_export[40];     /* entete/dateExport written, xs:dateTime */
} sim_export_result;

/* The checks sim_export_write() makes of a request: 0, or -1 with a message in err. */
int sim_export_check(const sim_export_request *req, char *err, size_t errlen);

/* Writes the archive (gzip tar, members EXPORT_{numero}_{partie:03}.xml, valid against
 * export.xsd) for `req` over the register in `data_dir` to `out_path` (created 0600, replaced
 * atomically). Returns 0, or -1 with a message (no personal data) in errbuf. */
int sim_export_write(const char *data_dir, const sim_export_request *req, const char *out_path,
                     sim_export_result *res, char *errbuf, size_t errlen);

/* Renders into `w` (reset first) the document a unit read answers for demand `i` of `r` (contract
 * section 7): an export document holding that one demand, numeroExport "D" + numUnique,
 * dateExport the register's snapshot (the simulated instant of the read), perimetre `entities`
 * (a non-empty set of SIM_ENT_ bits) and the demand's own etatDemande, one part, nombreDemandes 1;
 * `profondeur_drm` 1..3, 0 for the default 3. Returns 0, or -1 when `w` holds an error (w->err).
 * Thread-safe for distinct writers over one register opened read-only. */
int sim_export_render_demand(const sim_register *r, size_t i, unsigned entities, int profondeur_drm,
                             sim_xml *w);

/* 1 when `s` is a valid numeroExport: [0-9A-Za-z_-]{1,40}. */
int sim_export_id_valid(const char *s);

#endif
