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

#endif
