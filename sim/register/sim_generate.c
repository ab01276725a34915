/* sim_generate.c: the `generate` subcommand: a synthetic register, stored compactly (one 80-byte
 * record per demand, see sim_register.h). See sim_gen.h. */
#include "sim_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_newdemand.h"
#include "core/sim_geo.h"
#include "core/sim_util.h"

static double unif(sim_rng *r)
{
    return ((double)(sim_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Years completed between two days (anniversary reached). */
static int years_between(int32_t from, int32_t to)
{
    int y1, m1, d1, y2, m2, d2;
    sim_civil_from_days(from, &y1, &m1, &d1);
    sim_civil_from_days(to, &y2, &m2, &d2);
    int n = y2 - y1;
    if (m2 < m1 || (m2 == m1 && d2 < d1))
        n--;
    return n < 0 ? 0 : n;
}

static uint8_t cap8(long v)
{
    return (uint8_t)(v < 0 ? 0 : v > SIM_MAX_ITEMS ? SIM_MAX_ITEMS : v);
}

/* What the demands of one generation share. */
typedef struct gen {
    int32_t today;       /* Paris day of the snapshot */
    uint32_t snap_min;   /* the snapshot's minute */
    int32_t month_first; /* first day of the snapshot's month: the scores' date */
    sim_numbering nb;
} gen;

/* Skewed ages (days): most demands are recent, a long tail waits for years (1 day..12 years). */
static int32_t draw_age(sim_rng *g)
{
    double u = unif(g);
    int32_t age;
    if (u < 0.55)
        age = (int32_t)(-log(unif(g)) * 280.0);
    else if (u < 0.87)
        age = 365 + (int32_t)(unif(g) * 4 * 365);
    else
        age = 5 * 365 + (int32_t)(unif(g) * 7 * 365);
    if (age < 1)
        age = 1;
    if (age > 12 * 365)
        age = 12 * 365;
    return age;
}

/* About 12% of demands older than 45 days were radiated, within the last 18 months. Returns the
 * end of the demand's active life: its radiation day, or today. */
static int32_t draw_radiation(const gen *gn, sim_demand *d, sim_rng *g, int32_t age)
{
    if (!(age > 45 && unif(g) < 0.12))
        return gn->today;
    d->etat = SIM_ETAT_RADIEE;
    uint32_t p = sim_rng_below(g, 100);
    d->rad_motif = (uint8_t)(p < 40 ? 0 : p < 75 ? 1 : p < 90 ? 2 : p < 95 ? 3 : 4);
    int32_t back = 1 + (int32_t)sim_rng_below(g, (uint32_t)(age - 30 < 540 ? age - 30 : 540));
    d->rad_day = gn->today - back;
    return d->rad_day;
}

/* The last modification (minutes): recent for most, never before the creation or the last
 * renewal, never after the radiation or the snapshot. */
static uint32_t draw_lastmod(const gen *gn, const sim_demand *d, sim_rng *g, int32_t end)
{
    uint32_t lo = (uint32_t)d->created * 1440u + 7 * 60 + sim_rng_below(g, 11 * 60);
    if (d->renew_n) {
        uint32_t rn = (uint32_t)sim_add_years(d->created, d->renew_n) * 1440u + 8 * 60 +
                      sim_rng_below(g, 9 * 60);
        if (rn > lo)
            lo = rn;
    }
    uint32_t hi = d->etat == SIM_ETAT_RADIEE
                      ? (uint32_t)end * 1440u + 8 * 60 + sim_rng_below(g, 9 * 60)
                      : gn->snap_min - 1;
    uint32_t back = (uint32_t)(-log(unif(g)) * 45.0 * 1440.0);
    uint32_t lm = hi > back ? hi - back : 0;
    if (lm < lo)
        lm = lo;
    if (lm > gn->snap_min - 1)
        lm = gn->snap_min - 1;
    if (lm > hi && d->etat == SIM_ETAT_RADIEE)
        lm = hi;
    return lm;
}

/* The keyed items made at generation time: events grow with age; quotas 40%, CAL decisions 5%
 * (a signed lease for a demand radiated by attribution), priorities 20%, documents 85%. */
static void draw_items(sim_demand *d, sim_rng *g, int32_t age)
{
    long nev = sim_rng_below(g, 100) < 12 ? 0 : (long)sim_rng_below(g, 4) + age / 140;
    if (nev > 20)
        nev = 17 + (long)sim_rng_below(g, 4);
    d->n[SIM_K_EVT] = cap8(nev);
    uint32_t p = sim_rng_below(g, 100);
    d->n[SIM_K_CONT] = (uint8_t)(p < 60 ? 0 : p < 90 ? 1 : p < 98 ? 2 : 3);
    p = sim_rng_below(g, 1000);
    d->n[SIM_K_ATTRIB] = (uint8_t)(p < 950 ? 0 : p < 990 ? 1 : 2);
    if (d->etat == SIM_ETAT_RADIEE && d->rad_motif == 0) {
        if (!d->n[SIM_K_ATTRIB])
            d->n[SIM_K_ATTRIB] = 1;
        d->attrib_signed = d->n[SIM_K_ATTRIB];
    }
    p = sim_rng_below(g, 100);
    d->n[SIM_K_PRIO] = (uint8_t)(p < 80 ? 0 : p < 95 ? 1 : 2);
    if (d->n[SIM_K_PRIO] && sim_rng_below(g, 100) < 20)
        d->prio_ended = 1;
    p = sim_rng_below(g, 100);
    d->n[SIM_K_PJ] = (uint8_t)(p < 15 ? 0 : 1 + sim_rng_below(g, 4) + (age > 400) + (age > 1500));
    d->pj_checked = cap8((long)d->n[SIM_K_PJ] - (long)sim_rng_below(g, 3));
    memcpy(d->g, d->n, sizeof d->g);
}

/* DALO for 4.5%: appeal, decision, rehousing, dated within the demand's active life. */
static void draw_dalo(sim_demand *d, sim_rng *g, int32_t end)
{
    if (sim_rng_below(g, 1000) >= 45)
        return;
    uint32_t p = sim_rng_below(g, 100);
    d->dalo = (uint8_t)(p < 25 ? 1 : p < 70 ? 2 : p < 90 ? 3 : 4);
    d->dalo_day = d->created + (int32_t)sim_rng_below(g, (uint32_t)(end - d->created + 1));
    if (d->dalo == 4) {
        d->dalo_day2 = d->dalo_day + 30 + (int32_t)sim_rng_below(g, 300);
        if (d->dalo_day2 > end)
            d->dalo_day2 = end;
    }
}

/* Demand i of a register of seed `seed`. */
static void generate_demand(gen *gn, sim_demand *d, uint64_t seed, uint64_t i)
{
    sim_rng g;
    sim_rng_seed(&g, sim_h(seed, i));
    int di = sim_dept_pick((uint32_t)sim_rng_next(&g));
    int32_t age = draw_age(&g);
    sim_demand_init(d, sim_h(seed ^ 0x5EEDull, i), di, gn->today - age, &gn->nb);
    int32_t end = draw_radiation(gn, d, &g, age);
    d->renew_n = (uint8_t)years_between(d->created, end);
    d->lastmod = d->gen_hi = draw_lastmod(gn, d, &g, end);
    draw_items(d, &g, age);
    draw_dalo(d, &g, end);
    d->cota_day = gn->month_first > d->created ? gn->month_first : d->created;
}

int sim_generate(const char *out_dir, uint64_t n, uint64_t seed, int64_t snapshot, char *err,
                 size_t errlen)
{
    int rc = -1;
    sim_register r;
    gen gn;
    uint32_t *recent = NULL; /* the demands modified in the last 7 days: the GDM feed */
    size_t nrecent = 0;
    memset(&r, 0, sizeof r);
    memset(&gn, 0, sizeof gn);
    if (n > 50000000) {
        snprintf(err, errlen, "--demands: at most 50000000");
        return -1;
    }
    r.seed = seed;
    r.snapshot = snapshot;
    snprintf(r.guichet, sizeof r.guichet, "G1226");
    r.n = (size_t)n;
    r.d = calloc(n ? n : 1, sizeof *r.d);
    recent = malloc((n ? n : 1) * sizeof *recent);
    if (!r.d || !recent || sim_numbering_init(&gn.nb) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    int y, m, d;
    gn.today = sim_paris_day(snapshot);
    gn.snap_min = (uint32_t)(snapshot / 60);
    sim_civil_from_days(gn.today, &y, &m, &d);
    gn.month_first = sim_days_from_civil(y, m, 1);
    for (uint64_t i = 0; i < n; i++) {
        generate_demand(&gn, &r.d[i], seed, i);
        if (r.d[i].lastmod + 7 * 1440 >= gn.snap_min)
            recent[nrecent++] = (uint32_t)i;
    }
    if (sim_register_save(out_dir, &r, err, errlen) != 0)
        goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/mouvements.tsv", out_dir);
    if (sim_mouvements_write(path, "w", r.d, recent, nrecent, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    free(recent);
    free(r.d);
    sim_numbering_free(&gn.nb);
    return rc;
}
