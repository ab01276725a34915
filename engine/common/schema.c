#include "schema.h"

#include <string.h>

/* snesync.h spells sne_entity out; it must give every entity of entities.def the same value
 * (stored formats and the public ABI depend on it). */
enum entities_def_order {
#define SNE_ENTITY(id, code, block, item, key) ENTITIES_DEF_##id,
#include "entities.def"
#undef SNE_ENTITY
    ENTITIES_DEF_COUNT
};
#define SNE_ENTITY(id, code, block, item, key)                                                     \
    _Static_assert((int)SNE_ENTITY_##id == (int)ENTITIES_DEF_##id,                                 \
                   "snesync.h: sne_entity out of step with entities.def (" #id ")");
#include "entities.def"
#undef SNE_ENTITY
_Static_assert((int)SNE_ENTITY__COUNT == (int)ENTITIES_DEF_COUNT,
               "snesync.h: sne_entity and entities.def do not have the same entities");

static const sne_entity_info entities[SNE_ENTITY__COUNT] = {
#define SNE_ENTITY(id, code, block, item, key) [SNE_ENTITY_##id] = {code, block, item, key},
#include "entities.def"
#undef SNE_ENTITY
};

static const char *const sequences[] = {
#define SNE_SEQUENCE(container, member) container,
#include "sequences.def"
#undef SNE_SEQUENCE
};

const sne_entity_info *sne_entity_info_of(sne_entity e)
{
    return &entities[e];
}

int sne_entity_by_code(const char *code, size_t len)
{
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        if (strlen(entities[e].code) == len && memcmp(entities[e].code, code, len) == 0)
            return e;
    return -1;
}

int sne_entity_by_block(const char *name)
{
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        if (strcmp(entities[e].block, name) == 0)
            return e;
    return -1;
}

bool sne_schema_is_sequence(const char *container)
{
    /* Asked for every element rendered as JSON: the first byte spares most of the calls. */
    for (size_t i = 0; i < sizeof(sequences) / sizeof(sequences[0]); i++)
        if (sequences[i][0] == container[0] && strcmp(sequences[i], container) == 0)
            return true;
    return false;
}
