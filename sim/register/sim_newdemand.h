/* sim_newdemand.h: what generate and evolve share to add demands to a register: the numUnique
 * numbering (a sequence per department and month), a new demand's first record, and the GDM feed
 * lines of the demands that moved (DIR/mouvements.tsv). */
#ifndef SIM_NEWDEMAND_H
#define SIM_NEWDEMAND_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim_register.h"

/* The numbering state of numUnique: the last sequence used per department and month. */
typedef struct sim_numbering {
    uint32_t *seq; /* owned: [dept][month since 2000] */
} sim_numbering;

/* Returns 0, or -1 when out of memory. */
int sim_numbering_init(sim_numbering *nb);
void sim_numbering_free(sim_numbering *nb); /* NULL-safe */
/* Records an existing numUnique, so that new ones follow it. */
void sim_numbering_see(sim_numbering *nb, const char num[18]);

/* Fills a new demand's record: seed, department di, creation day, identity flags and numUnique
 * (the next of its department and month); the counters are zero, for the caller to set. */
void sim_demand_init(sim_demand *d, uint64_t seed, int di, int32_t created, sim_numbering *nb);

/* Writes the GDM lines (numUnique TAB dateMouvement) of demands d[idx[0..n)], sorted by their
 * lastmod, to `path` opened with fopen mode `mode` ("w" or "a"). Returns 0 or -1 with a
 * message. */
int sim_mouvements_write(const char *path, const char *mode, const sim_demand *d,
                         const uint32_t *idx, size_t n, char *err, size_t errlen);
/* Copies the feed `from` to `to` (an empty `to` when `from` does not exist). */
int sim_mouvements_copy(const char *from, const char *to, char *err, size_t errlen);

#endif
