/* sim_util.h: small helpers shared by every side of snesync-sim: a stateless hash-based random
 * source (every value of the register is a pure function of a seed and a few counters, so nothing
 * but those counters needs to be stored) and civil-date arithmetic in Europe/Paris.
 *
 * Nothing here allocates. All functions are thread-safe (no global state). */
#ifndef SIM_UTIL_H
#define SIM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* ---- random ---------------------------------------------------------------------------------- */

/* splitmix64 finaliser: a bijection on 64 bits, good avalanche. */
static inline uint64_t sim_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Hash of a seed and a small tag: the value of "field `tag` of the thing seeded by `seed`". */
static inline uint64_t sim_h(uint64_t seed, uint64_t tag)
{
    return sim_mix64(seed ^ sim_mix64(tag * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull));
}

/* A sequential generator (xoshiro256** seeded by splitmix64). */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias is negligible for our n). */
static inline uint32_t sim_rng_below(sim_rng *r, uint32_t n)
{
    return (uint32_t)(((sim_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
/* true with probability p */
static inline int sim_rng_chance(sim_rng *r, double p)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}
/* Uniform in [0, n) from a hash value. */
static inline uint32_t sim_below(uint64_t h, uint32_t n)
{
    return (uint32_t)(((h >> 32) * (uint64_t)n) >> 32);
}

/* ---- time ------------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int32_t sim_days_from_civil(int y, int m, int d);
void sim_civil_from_days(int32_t z, int *y, int *m, int *d);
/* Offset of Europe/Paris at UTC instant t (seconds): 3600 or 7200 (EU summer time rule). */
int sim_paris_offset(int64_t t);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDThh:mm[:ss[.fff]]" with "Z" or "+hh:mm"/"-hh:mm" (no zone means
 * Europe/Paris) into UTC seconds. Returns 0 on success, -1 if malformed. */
int sim_parse_iso(const char *s, int64_t *out);
/* Writes t as Paris local time "YYYY-MM-DDThh:mm:ss[.000]+hh:mm" (millis when `millis`), returns
 * the length (at most 29). `out` must hold 30 bytes. */
int sim_fmt_paris(int64_t t, int millis, char *out);
/* "YYYY-MM-DDThh:mm:ssZ" (20 chars + NUL). */
int sim_fmt_utc(int64_t t, char *out);
/* "YYYY-MM-DD" (10 chars + NUL). */
int sim_fmt_day(int32_t day, char *out);
/* The same day `years` years later (29 February gives 28 February). */
int32_t sim_add_years(int32_t day, int years);
/* Paris local calendar day of UTC instant t. */
int32_t sim_paris_day(int64_t t);
/* Month index y*12 + (m-1) of a day. */
int sim_month_of_day(int32_t day);
/* The DRM period "YYYY-MM" of a month index (7 chars + NUL). */
int sim_fmt_month(int month, char *out);

#endif
