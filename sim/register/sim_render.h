/* sim_render.h: the data of a simulated demand, as export XML.
 *
 * Every value is a pure function of a sim_view (record + journal entries + DRM month), so the
 * same register always renders the same bytes, and `evolve` can tell exactly which items changed
 * by rendering a demand before and after. Output is indented like the contract sample (two
 * spaces, ns1 prefix), UTF-8, text escaped. A rendering that hits the writer's cap or runs out of
 * memory leaves the error in the writer (sim_xml.h): callers check it. */
#ifndef SIM_RENDER_H
#define SIM_RENDER_H

#include <stdint.h>

#include "sim_xml.h"
#include "core/sim_register.h"

/* The most a rendered demand may weigh: its writer's cap. */
#define SIM_RENDER_CAP ((size_t)256 << 20)

/* One rendered item: its key (empty for CERFA/DALO) and its bytes at w->buf.data + off. */
typedef struct sim_item {
    char key[24];
    uint32_t off, len;
} sim_item;

/* Appends the block of entity `ent` (SIM_ENT_x) for the demand, as a child of <demande>; nothing
 * when the demand has no such data. When `items` is non-NULL, records up to `max` items. Returns
 * the number of items rendered. drm_depth is 1..3. */
int sim_render_entity(sim_xml *w, const sim_view *v, int ent, int drm_depth, sim_item *items,
                      int max);

/* Appends one whole <demande> with the blocks of the requested entities (SIM_ENT_ bits). */
void sim_render_demande(sim_xml *w, const sim_view *v, unsigned entities, int drm_depth);

#endif
