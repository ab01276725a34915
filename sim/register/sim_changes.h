/* sim_changes.h: the ground truth of `evolve` (changes.tsv), computed, not predicted: a demand
 * that may have changed is rendered before and after, entity by entity, and its items are
 * compared by key and bytes, as a consumer of a national ACTIVE export of all nine entities at
 * DRM depth 3 would see them.
 *
 * How to use:
 *     sim_changes *c = sim_changes_new();
 *     n = sim_changes_diff(c, &before, &after, SIM_ENT_CERFA, 1);  // lines recorded, n of them
 *     sim_changes_write(c, "DIR/changes.tsv", err, sizeof err);
 *     sim_changes_free(c);
 * Not thread-safe. */
#ifndef SIM_CHANGES_H
#define SIM_CHANGES_H

#include <stddef.h>

#include "core/sim_register.h"

/* The change lines of one run are capped (SNE_ERR_LIMIT past it): a 3-million-demand register
 * evolved 7 days across a month boundary writes about 200 MB of them, a 2.7-million one evolved
 * 30 days (the benchmark's national next month) more than 256 MB. */
#define SIM_CHANGES_CAP ((size_t)1 << 30)

typedef struct sim_changes sim_changes;

/* NULL when out of memory. */
sim_changes *sim_changes_new(void);
void sim_changes_free(sim_changes *c); /* NULL-safe */

/* Compares entity e (SIM_ENT_x) of a demand before (vo) and after (vn); a NULL view stands for a
 * demand absent from an ACTIVE export (not yet created, or radiated). With `record`, appends one
 * line per change ("op TAB numUnique TAB entity TAB key"; op create, update or delete). Returns
 * the number of changes, or -1 when a rendering or a line failed (cap or memory). */
long sim_changes_diff(sim_changes *c, const sim_view *vo, const sim_view *vn, int e, int record);

/* Writes the recorded lines to `path`, sorted bytewise. Returns 0 or -1 with a message. */
int sim_changes_write(sim_changes *c, const char *path, char *err, size_t errlen);

#endif
