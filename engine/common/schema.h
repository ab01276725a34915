/* schema.h: the export format's table (schema/entities.def, schema/sequences.def) as C.
 *
 * Everything that needs to know which elements are entities, items, item keys or ordered lists
 * asks here; no other module spells an element name of the export. The entities themselves
 * (sne_entity, sne_entity_info_of, sne_entity_by_code) are public: snesync.h, which spells the
 * enum out (it includes no file of the tree); schema.c checks at build time that it follows
 * entities.def. */
#ifndef SNE_SCHEMA_H
#define SNE_SCHEMA_H

#include "snesync.h"

#include <stdbool.h>
#include <stddef.h>

/* The entity whose block element is the NUL-terminated local name `name`, or -1. */
int sne_entity_by_block(const char *name);
/* True when `container` (NUL-terminated local name) is an ordered list of sequences.def. */
bool sne_schema_is_sequence(const char *container);

/* The SNE namespace every export element lives in; elements of other namespaces are ignored. */
#define SNE_NAMESPACE "http://nuu.application.i2/"

#endif
