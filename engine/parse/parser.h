/* parser.h: one export document (an archive member) in, canonical demands out.
 *
 * Bytes of the document are pushed in as they are decompressed (libxml2 SAX2 push parser), so no
 * document is ever held in memory: only the demand being read is. For each <demande> the parser
 * calls on_demand with its items, canonicalised (canon.h) and hashed, sorted by (entity, key).
 * The header of the document (entete) is handed to on_header before the first demand.
 *
 * Hostile input: DTDs are refused outright (so no entity can be declared, expanded or fetched),
 * the network is never used, and every size is capped (sne_parse_limits). Errors name the member,
 * the line and the demand number, never the data.
 *
 * Typical use:
 *     sne_parser *p = sne_parser_new(&limits, &callbacks, ctx);
 *     for each member: sne_parser_begin(p, name); sne_parser_feed(p, ...)*; sne_parser_end(p);
 *     sne_parser_free(p);
 */
#ifndef SNE_PARSER_H
#define SNE_PARSER_H

#include "../common/error.h"
#include "../common/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNE_NUM_UNIQUE_LEN      18
#define SNE_MAX_KEY_LEN         128   /* bytes of an item key (the contract's keys are <= 40) */
#define SNE_MAX_LOCATIONS       10000 /* departements or communes in a perimetre */
#define SNE_MAX_SOUGHT_COMMUNES 64    /* sought communes kept per demand for scope decisions */
#define SNE_COMMUNE_LEN         5
#define SNE_DATE_MAX            40 /* bytes of an xs:dateTime value */
/* DRM periods the register keeps per demand (contract README §5): the default and largest
 * profondeurDrm. */
#define SNE_DRM_PERIODS 3

typedef struct sne_parse_limits {
    size_t max_text;   /* bytes of one text or attribute value */
    size_t max_item;   /* canonical bytes of one item */
    size_t max_demand; /* canonical bytes of all items of one demand */
    size_t max_items;  /* items in one demand */
    size_t max_depth;  /* element nesting in a document */
    size_t max_name;   /* bytes of an element or attribute name */
} sne_parse_limits;

/* The defaults: 256 KiB text, 4 MiB item, 32 MiB demand, 100000 items, depth 64, names 256. */
void sne_parse_limits_default(sne_parse_limits *l);

/* The location filter of an export: none, departments or communes (codes NUL-terminated). */
typedef enum sne_location_kind {
    SNE_LOCATION_ALL = 0,
    SNE_LOCATION_DEPARTEMENTS,
    SNE_LOCATION_COMMUNES
} sne_location_kind;

/* entete of a document. Owned by the parser; valid during the on_header call only. */
typedef struct sne_export_header {
    char numero[41];
    char date_export[SNE_DATE_MAX + 1];
    int64_t date_export_ms;
    char guichet[8];
    unsigned partie;
    unsigned nombre_parties;
    sne_entity_set entities;
    bool radiees; /* perimetre/etatDemande is RADIEE */
    sne_location_kind location;
    size_t n_locations;
    char (*locations)[8];          /* departments ("38", "2A", "974") or communes ("38185") */
    unsigned profondeur_drm;       /* 1..SNE_DRM_PERIODS, 0 when absent */
    uint32_t derniere_periode_drm; /* perimetre/dernierePeriodeDrm as a month number
                                      (sne_period_parse), 0 when absent */
} sne_export_header;

/* One item of a demand. All pointers are borrowed from the parser: valid during on_demand only. */
typedef struct sne_item {
    sne_entity entity;
    const char *key; /* NUL-terminated; "" for single-item entities */
    size_t key_len;
    const uint8_t *canon;
    size_t canon_len;
    uint64_t hash; /* XXH3-64 of the canonical form */
} sne_item;

/* One demand. Borrowed, valid during on_demand only. */
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

typedef struct sne_parser_callbacks {
    /* Called once per document, after its entete. A non-zero return stops the parse with it;
     * the callback may describe the problem in `err` (the parser adds member and line). */
    sne_err (*on_header)(void *ctx, const sne_export_header *h, sne_error *err);
    /* Called for every demand in document order; errors as for on_header. */
    sne_err (*on_demand)(void *ctx, const sne_demand *d, sne_error *err);
} sne_parser_callbacks;

typedef struct sne_parser sne_parser;

/* Returns NULL when out of memory. `limits` may be NULL for the defaults. */
sne_parser *sne_parser_new(const sne_parse_limits *limits, const sne_parser_callbacks *cb,
                           void *ctx);
void sne_parser_free(sne_parser *p);

/* Starts a document; `member` names it in messages (copied). */
sne_err sne_parser_begin(sne_parser *p, const char *member);
sne_err sne_parser_feed(sne_parser *p, const void *data, size_t n);
/* Ends the document: checks it is complete and that pied/nombreDemandes matches. */
sne_err sne_parser_end(sne_parser *p);
/* demande elements read in the current (or last) document. */
uint64_t sne_parser_demand_count(const sne_parser *p);
/* Demands seen with entities that the perimetre did not request (their data is ignored). */
uint64_t sne_parser_unrequested_count(const sne_parser *p);
const sne_error *sne_parser_error(const sne_parser *p);

#endif
