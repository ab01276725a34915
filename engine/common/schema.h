/* schema.h: the export format's table (schema/entities.def, schema/sequences.def) as C.
 *
 * Everything that needs to know which elements are entities, items, item keys or ordered lists
 * asks here; no other module spells an element name of the export. */
#ifndef SNE_SCHEMA_H
#define SNE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum sne_entity {
#define SNE_ENTITY(id, code, block, item, key) SNE_ENTITY_##id,
#include "entities.def"
#undef SNE_ENTITY
    SNE_ENTITY__COUNT
} sne_entity;

/* A set of entities, bit (1 << entity). */
typedef unsigned sne_entity_set;
#define SNE_ENTITY_ALL ((sne_entity_set)((1u << SNE_ENTITY__COUNT) - 1))

typedef struct sne_entity_info {
    const char *code;  /* "CERFA" */
    const char *block; /* element under <demande> */
    const char *item;  /* element of one item */
    const char *key;   /* key element of a keyed item, "" for single-item entities */
} sne_entity_info;

/* The row of `e` (a valid enumerator); static storage. */
const sne_entity_info *sne_entity_info_of(sne_entity e);
static inline bool sne_entity_is_keyed(sne_entity e)
{
    return sne_entity_info_of(e)->key[0] != '\0';
}
/* The entity whose code is the `len` bytes at `code`, or -1. */
int sne_entity_by_code(const char *code, size_t len);
/* The entity whose block element is the NUL-terminated local name `name`, or -1. */
int sne_entity_by_block(const char *name);
/* True when `container` (NUL-terminated local name) is an ordered list of sequences.def. */
bool sne_schema_is_sequence(const char *container);

/* The SNE namespace every export element lives in; elements of other namespaces are ignored. */
#define SNE_NAMESPACE "http://nuu.application.i2/"

#endif
