/* sim_render.h: the data of a simulated demand, as export XML.
 *
 * Every value is a pure function of a sim_view (record + journal entries + DRM month), so the
 * same register always renders the same bytes, and `evolve` can tell exactly which items changed
 * by rendering a demand before and after. Output is indented like the contract sample (two
 * spaces, ns1 prefix), UTF-8, text escaped. */
#ifndef SIM_RENDER_H
#define SIM_RENDER_H

#include "sim_export.h"
#include "core/sim_register.h"
#include "core/sim_util.h"

#define SIM_MAX_COMMUNES 8

/* One rendered item: its key (empty for CERFA/DALO) and its bytes at b->p + off. */
typedef struct sim_item {
    char key[24];
    uint32_t off, len;
} sim_item;

/* Appends the block of entity `ent` (SIM_ENT_x) for the demand, as a child of <demande>; nothing
 * when the demand has no such data. When `items` is non-NULL, records up to `max` items. Returns
 * the number of items rendered. drm_depth is 1..3. */
int sim_render_entity(sim_buf *b, const sim_view *v, int ent, int drm_depth, sim_item *items,
                      int max);

/* Appends one whole <demande> with the blocks of the requested entities. */
void sim_render_demande(sim_buf *b, const sim_view *v, unsigned entities, int drm_depth);

/* The sought communes (INSEE codes), in document order; returns their count (1..8). */
int sim_demand_communes(const sim_demand *d, char codes[SIM_MAX_COMMUNES][6]);

/* Identity fields needed at generation time. */
void sim_demand_identity_flags(uint64_t seed, uint8_t *flags);

#endif
