/* model.h: the domain every stage speaks of: an export's header, a demand and its items, and the
 * sizes the national register fixes for them.
 *
 * It sits below the stages that produce and consume these (parse/ fills them, store/ keeps them,
 * the sync and the CLI read them) and depends on nothing but common/, so that none of those
 * stages needs another's header to name a demand. What owns the bytes a demand points to, and
 * for how long, is said where the demand is handed over (record.h, parser.h). */
#ifndef SNE_MODEL_H
#define SNE_MODEL_H

#include "../common/schema.h"
#include "snesync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SNE_NUM_UNIQUE_LEN, SNE_NUMERO_MAX and SNE_DATE_MAX are public (snesync.h). */
#define SNE_COMMUNE_LEN         5     /* characters of an INSEE commune code */
#define SNE_LOCATION_CODE_MAX   7     /* characters of a perimetre's location code */
#define SNE_MAX_KEY_LEN         128   /* bytes of an item key (the contract's keys are <= 40) */
#define SNE_MAX_LOCATIONS       10000 /* departements or communes in a perimetre */
#define SNE_MAX_SOUGHT_COMMUNES 64    /* sought communes kept per demand for scope decisions */
/* DRM periods the register keeps per demand (contract README §5): the default and largest
 * profondeurDrm. */
#define SNE_DRM_PERIODS 3

/* Whether `s` is an export number as the service gives it: 1..SNE_NUMERO_MAX characters of
 * [0-9A-Za-z_-], so that it can name a file or a URL path segment as it is. */
bool sne_numero_valid(const char *s);

/* The location filter of an export: none, departments or communes (codes NUL-terminated). */
typedef enum sne_location_kind {
    SNE_LOCATION_ALL = 0,
    SNE_LOCATION_DEPARTEMENTS,
    SNE_LOCATION_COMMUNES
} sne_location_kind;

/* entete of an export document. */
typedef struct sne_export_header {
    char numero[SNE_NUMERO_MAX + 1];
    char date_export[SNE_DATE_MAX + 1];
    int64_t date_export_ms;
    unsigned partie;
    unsigned nombre_parties;
    sne_entity_set entities;
    bool radiees; /* perimetre/etatDemande is RADIEE */
    sne_location_kind location;
    size_t n_locations;
    /* departments ("38", "2A", "974") or communes ("38185"); borrowed from whoever filled the
     * header (the parser: during its on_header call) */
    char (*locations)[SNE_LOCATION_CODE_MAX + 1];
    unsigned profondeur_drm;       /* 1..SNE_DRM_PERIODS, 0 when absent */
    uint32_t derniere_periode_drm; /* perimetre/dernierePeriodeDrm as a month number
                                      (sne_period_parse), 0 when absent */
} sne_export_header;

/* One item of a demand: an entity's block (CERFA) or one member of a keyed list (an event, a DRM
 * month), in canonical form (canon.h). The pointers borrow from the demand's owner. */
typedef struct sne_item {
    sne_entity entity;
    const char *key; /* NUL-terminated; "" for single-item entities */
    size_t key_len;
    const uint8_t *canon;
    size_t canon_len;
    uint64_t hash; /* XXH3-64 of the canonical form */
} sne_item;

/* One demand. The pointers borrow from the demand's owner (a sne_record, or the caller's). */
typedef struct sne_demand {
    char num_unique[SNE_NUM_UNIQUE_LEN + 1];
    bool radiee;
    char date_modification[SNE_DATE_MAX + 1];
    size_t n_items;
    const sne_item *items; /* sorted by (entity, key); keys unique within an entity */
    bool has_cerfa;        /* a CERFA item is present: the communes below are its sought ones */
    size_t n_communes;
    const char (*communes)[SNE_COMMUNE_LEN + 1];
    size_t line; /* line of the <demande> start tag, for messages */
} sne_demand;

#endif
