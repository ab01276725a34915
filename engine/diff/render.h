/* render.h: the JSON view of a canonical item, and the list of what changed between two items.
 * Both are public (snesync.h, "items as JSON", which states the mapping the SI integrators code
 * against); this header adds what only the engine needs to know.
 *
 * Validity: an input is a valid canonical form when sne_canon_valid() accepts it and, in addition,
 * each element's attributes come right after its name, in strictly increasing bytewise order (the
 * grammar of canon.h). Anything else is SNE_ERR_CORRUPT: a stored item that does not decode. */
#ifndef SNE_RENDER_H
#define SNE_RENDER_H

#include "snesync.h"

/* As sne_render_json, with each object's members in jsonb's order: the order in which PostgreSQL
 * stores them and into which it sorts those it receives, at a cost (a sort per object) that
 * sorted input does not pay. Members of one name keep their relative order. */
sne_err sne_render_jsonb(const uint8_t *canon, size_t len, sne_buf *out);

#endif
