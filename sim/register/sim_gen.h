/* sim_gen.h: making and evolving a register (the `generate` and `evolve` subcommands). */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim_register.h"

/* Makes a register of n demands at `snapshot` (UTC seconds) in out_dir (created). Deterministic
 * in (n, seed, snapshot). Writes register.txt, demands.bin, journal.bin, mouvements.tsv (demands
 * modified in the 7 days before the snapshot). Returns 0 or -1 with a message. */
int sim_generate(const char *out_dir, uint64_t n, uint64_t seed, int64_t snapshot, char *err,
                 size_t errlen);

typedef struct sim_evolve_stats {
    uint64_t created, radiated, modified, changes, moved;
} sim_evolve_stats;

/* Evolves the register in from_dir by `days` days into out_dir (must differ from from_dir).
 * seed 0 derives one from the register. Writes out_dir/changes.tsv and out_dir/mouvements.tsv. */
int sim_evolve(const char *from_dir, const char *out_dir, int days, uint64_t seed,
               sim_evolve_stats *st, char *err, size_t errlen);

/* Internal, shared by generate and evolve: numbering state of numUnique. */
typedef struct sim_numbering {
    uint32_t *seq; /* [dept][month since 2000] last sequence used */
} sim_numbering;

int sim_numbering_init(sim_numbering *nb);
void sim_numbering_free(sim_numbering *nb);
/* Records an existing numUnique. */
void sim_numbering_see(sim_numbering *nb, const char num[18]);
/* Makes the numUnique of a new demand of department di created on `day`. */
void sim_numbering_make(sim_numbering *nb, int di, int32_t day, uint64_t h, char num[18]);
/* Fills a new demand's record (seed, dept, created, flags, numbering) for a demand whose life
 * starts at `born` (minutes); the caller sets the counters. */
void sim_demand_init(sim_demand *d, uint64_t seed, int di, int32_t created, sim_numbering *nb);
/* Writes the GDM lines (numUnique, lastmod) of demands idx[0..n) sorted by date to f. */
int sim_write_mouvements(const char *path, const char *mode, const sim_demand *d, uint32_t *idx,
                         size_t n, char *err, size_t errlen);

#endif
