/* sim_evolve.c: the `evolve` subcommand. See sim_gen.h. */
#include "sim_gen.h"

#include <stdio.h>

int sim_evolve(const char *from_dir, const char *out_dir, int days, uint64_t seed,
               sim_evolve_stats *st, char *err, size_t errlen)
{
    (void)from_dir, (void)out_dir, (void)days, (void)seed, (void)st;
    snprintf(err, errlen, "not implemented yet");
    return -1;
}
