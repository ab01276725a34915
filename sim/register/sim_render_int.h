/* sim_render_int.h: the parts of the renderer (internal to sim_render*.c). Each appends the block
 * of one entity under <demande> (level 2); the keyed lists also record, when `items` is non-NULL,
 * up to `max` of their items, and return the number of items rendered. */
#ifndef SIM_RENDER_INT_H
#define SIM_RENDER_INT_H

#include "sim_draw.h"
#include "sim_render.h"

/* <cerfa> (sim_render_cerfa.c): always present. */
void sim_render_cerfa(sim_xml *w, const sim_view *v);
/* The lists of items of keyed entity k (SIM_K_x), sim_render_items.c. */
int sim_render_keyed(sim_xml *w, const sim_view *v, int k, sim_item *items, int max);
/* Records item `i` (its key, and the bytes written since `off`) when there is room. */
void sim_render_record(sim_item *items, int max, int i, const char *key, const sim_xml *w,
                       size_t off);

#endif
