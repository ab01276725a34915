/* sim_generate.c: the `generate` subcommand: a synthetic register, stored compactly (one 80-byte
 * record per demand, see sim_register.h). See sim_gen.h. */
#include "sim_gen.h"
#include "sim_render.h"
#include "core/sim_geo.h"
#include "core/sim_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NB_MONTHS 1200 /* 2000-01 .. 2099-12 */

int sim_numbering_init(sim_numbering *nb)
{
    nb->seq = calloc(sim_n_depts * NB_MONTHS, sizeof *nb->seq);
    return nb->seq ? 0 : -1;
}

void sim_numbering_free(sim_numbering *nb)
{
    if (!nb)
        return;
    free(nb->seq);
    nb->seq = NULL;
}

void sim_numbering_see(sim_numbering *nb, const char num[18])
{
    char dep[4];
    sim_numunique_dept(num, dep);
    int di = sim_dept_find(dep);
    if (di < 0)
        return;
    int mm = (num[3] - '0') * 10 + (num[4] - '0');
    int yy = (num[5] - '0') * 10 + (num[6] - '0');
    uint32_t seq = 0;
    for (int i = 7; i < 13; i++)
        seq = seq * 10 + (uint32_t)(num[i] - '0');
    uint32_t *s = &nb->seq[(size_t)di * NB_MONTHS + (size_t)(yy * 12 + mm - 1) % NB_MONTHS];
    if (seq > *s)
        *s = seq;
}

void sim_numbering_make(sim_numbering *nb, int di, int32_t day, uint64_t h, char num[18])
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    uint32_t *s = &nb->seq[(size_t)di * NB_MONTHS + (size_t)((y % 100) * 12 + m - 1) % NB_MONTHS];
    uint32_t seq = ++*s % 1000000;
    const char *c = sim_depts[di].code;
    char t[40];
    /* guichets: a handful per department, more in populous ones */
    uint32_t ng = 3 + sim_depts[di].weight / 12;
    uint32_t g = 1000 + (uint32_t)(sim_h((uint64_t)di * 1000 + sim_below(h, ng), 4242) % 9000);
    snprintf(t, sizeof t, "%s%s%02d%02d%06u%c%04u", c[2] ? "" : "0", c, m, y % 100, seq, 'G', g);
    memcpy(num, t, 18);
}

void sim_demand_init(sim_demand *d, uint64_t seed, int di, int32_t created, sim_numbering *nb)
{
    memset(d, 0, sizeof *d);
    d->seed = seed;
    d->dept = (uint8_t)di;
    d->created = created;
    sim_demand_identity_flags(seed, &d->flags);
    sim_numbering_make(nb, di, created, sim_h(seed, 31), d->num);
}

typedef struct mv {
    uint32_t minute;
    uint32_t idx;
    const char *num;
} mv;

static int cmp_mv(const void *a, const void *b)
{
    const mv *x = a, *y = b;
    if (x->minute != y->minute)
        return x->minute < y->minute ? -1 : 1;
    return memcmp(x->num, y->num, 18);
}

int sim_write_mouvements(const char *path, const char *mode, const sim_demand *d, uint32_t *idx,
                         size_t n, char *err, size_t errlen)
{
    mv *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].minute = d[idx[i]].lastmod;
        v[i].idx = idx[i];
        v[i].num = d[idx[i]].num;
    }
    qsort(v, n, sizeof *v, cmp_mv);
    FILE *f = fopen(path, mode);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(v);
        return -1;
    }
    char t[32];
    for (size_t i = 0; i < n; i++) {
        sim_fmt_utc((int64_t)v[i].minute * 60, t);
        fprintf(f, "%.18s\t%s\n", v[i].num, t);
    }
    free(v);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

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

int sim_generate(const char *out_dir, uint64_t n, uint64_t seed, int64_t snapshot, char *err,
                 size_t errlen)
{
    int rc = -1;
    sim_register r;
    sim_numbering nb = {0};
    uint32_t *recent = NULL;
    memset(&r, 0, sizeof r);
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
    if (!r.d || !recent || sim_numbering_init(&nb) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    int32_t today = sim_paris_day(snapshot);
    uint32_t snap_min = (uint32_t)(snapshot / 60);
    int32_t month_first;
    {
        int y, m, d;
        sim_civil_from_days(today, &y, &m, &d);
        month_first = sim_days_from_civil(y, m, 1);
    }
    size_t nrecent = 0;
    for (uint64_t i = 0; i < n; i++) {
        sim_rng g;
        sim_rng_seed(&g, sim_h(seed, i));
        int di = sim_dept_pick((uint32_t)sim_rng_next(&g));
        /* skewed ages: most demands are recent, a long tail waits for years */
        double u = unif(&g);
        int32_t age;
        if (u < 0.55)
            age = (int32_t)(-log(unif(&g)) * 280.0);
        else if (u < 0.87)
            age = 365 + (int32_t)(unif(&g) * 4 * 365);
        else
            age = 5 * 365 + (int32_t)(unif(&g) * 7 * 365);
        if (age < 1)
            age = 1;
        if (age > 12 * 365)
            age = 12 * 365;
        sim_demand *d = &r.d[i];
        sim_demand_init(d, sim_h(seed ^ 0x5EEDull, i), di, today - age, &nb);
        int32_t end = today;
        if (age > 45 && unif(&g) < 0.12) {
            d->etat = SIM_ETAT_RADIEE;
            uint32_t p = sim_rng_below(&g, 100);
            d->rad_motif = (uint8_t)(p < 40 ? 0 : p < 75 ? 1 : p < 90 ? 2 : p < 95 ? 3 : 4);
            int32_t back =
                1 + (int32_t)sim_rng_below(&g, (uint32_t)(age - 30 < 540 ? age - 30 : 540));
            d->rad_day = today - back;
            end = d->rad_day;
        }
        d->renew_n = (uint8_t)years_between(d->created, end);
        /* last modification: recent for most, never before creation or the last renewal */
        uint32_t lo = (uint32_t)d->created * 1440u + 7 * 60 + sim_rng_below(&g, 11 * 60);
        if (d->renew_n) {
            int y, m, dd;
            sim_civil_from_days(d->created, &y, &m, &dd);
            if (m == 2 && dd == 29)
                dd = 28;
            uint32_t rn = (uint32_t)sim_days_from_civil(y + d->renew_n, m, dd) * 1440u + 8 * 60 +
                          sim_rng_below(&g, 9 * 60);
            if (rn > lo)
                lo = rn;
        }
        uint32_t hi = d->etat == SIM_ETAT_RADIEE
                          ? (uint32_t)end * 1440u + 8 * 60 + sim_rng_below(&g, 9 * 60)
                          : snap_min - 1;
        uint32_t back = (uint32_t)(-log(unif(&g)) * 45.0 * 1440.0);
        uint32_t lm = hi > back ? hi - back : 0;
        if (lm < lo)
            lm = lo;
        if (lm > snap_min - 1)
            lm = snap_min - 1;
        if (lm > hi && d->etat == SIM_ETAT_RADIEE)
            lm = hi;
        d->lastmod = lm;
        d->gen_hi = lm;
        if (lm + 7 * 1440 >= snap_min)
            recent[nrecent++] = (uint32_t)i;

        /* items */
        long nev = sim_rng_below(&g, 100) < 12 ? 0 : (long)sim_rng_below(&g, 4) + age / 140;
        if (nev > 20)
            nev = 17 + (long)sim_rng_below(&g, 4);
        d->n[SIM_K_EVT] = cap8(nev);
        uint32_t p = sim_rng_below(&g, 100);
        d->n[SIM_K_CONT] = (uint8_t)(p < 60 ? 0 : p < 90 ? 1 : p < 98 ? 2 : 3);
        p = sim_rng_below(&g, 1000);
        d->n[SIM_K_ATTRIB] = (uint8_t)(p < 950 ? 0 : p < 990 ? 1 : 2);
        if (d->etat == SIM_ETAT_RADIEE && d->rad_motif == 0) {
            if (!d->n[SIM_K_ATTRIB])
                d->n[SIM_K_ATTRIB] = 1;
            d->attrib_signed = d->n[SIM_K_ATTRIB];
        }
        p = sim_rng_below(&g, 100);
        d->n[SIM_K_PRIO] = (uint8_t)(p < 80 ? 0 : p < 95 ? 1 : 2);
        if (d->n[SIM_K_PRIO] && sim_rng_below(&g, 100) < 20)
            d->prio_ended = 1;
        p = sim_rng_below(&g, 100);
        d->n[SIM_K_PJ] =
            (uint8_t)(p < 15 ? 0 : 1 + sim_rng_below(&g, 4) + (age > 400) + (age > 1500));
        d->pj_checked = cap8((long)d->n[SIM_K_PJ] - (long)sim_rng_below(&g, 3));
        memcpy(d->g, d->n, sizeof d->g);
        if (sim_rng_below(&g, 1000) < 45) {
            p = sim_rng_below(&g, 100);
            d->dalo = (uint8_t)(p < 25 ? 1 : p < 70 ? 2 : p < 90 ? 3 : 4);
            d->dalo_day = d->created + (int32_t)sim_rng_below(&g, (uint32_t)(end - d->created + 1));
            if (d->dalo == 4) {
                d->dalo_day2 = d->dalo_day + 30 + (int32_t)sim_rng_below(&g, 300);
                if (d->dalo_day2 > end)
                    d->dalo_day2 = end;
            }
        }
        d->cota_day = month_first > d->created ? month_first : d->created;
    }
    if (sim_register_save(out_dir, &r, err, errlen) != 0)
        goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/mouvements.tsv", out_dir);
    if (sim_write_mouvements(path, "w", r.d, recent, nrecent, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    free(recent);
    free(r.d);
    sim_numbering_free(&nb);
    return rc;
}
