/* sim_newdemand.c: see sim_newdemand.h. */
#include "sim_newdemand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_draw.h"
#include "core/sim_geo.h"
#include "core/sim_util.h"

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

/* The next numUnique of department di for a demand created on `day`; h picks the guichet. */
static void numbering_make(sim_numbering *nb, int di, int32_t day, uint64_t h, char num[18])
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
    numbering_make(nb, di, created, sim_h(seed, 31), d->num);
}

/* A movement line to sort: its instant, then its numUnique. */
typedef struct mv {
    uint32_t minute;
    const char *num; /* borrowed from the register, 18 characters */
} mv;

static int cmp_mv(const void *a, const void *b)
{
    const mv *x = a, *y = b;
    if (x->minute != y->minute)
        return x->minute < y->minute ? -1 : 1;
    return memcmp(x->num, y->num, 18);
}

int sim_mouvements_write(const char *path, const char *mode, const sim_demand *d,
                         const uint32_t *idx, size_t n, char *err, size_t errlen)
{
    int rc = -1;
    FILE *f = NULL;
    mv *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].minute = d[idx[i]].lastmod;
        v[i].num = d[idx[i]].num;
    }
    qsort(v, n, sizeof *v, cmp_mv);
    if (!(f = fopen(path, mode))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    char t[32];
    for (size_t i = 0; i < n; i++) {
        sim_fmt_utc((int64_t)v[i].minute * 60, t);
        fprintf(f, "%.18s\t%s\n", v[i].num, t);
    }
    int bad = ferror(f);
    int closed = fclose(f);
    f = NULL;
    if (bad || closed != 0) {
        snprintf(err, errlen, "%s: %s", path, bad ? "write error" : strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    free(v);
    return rc;
}

int sim_mouvements_copy(const char *from, const char *to, char *err, size_t errlen)
{
    int rc = -1;
    FILE *in = fopen(from, "rb"), *out = NULL;
    if (!in && errno != ENOENT) { /* ENOENT: no feed yet, start an empty one */
        snprintf(err, errlen, "%s: %s", from, strerror(errno));
        goto out;
    }
    if (!(out = fopen(to, "wb"))) {
        snprintf(err, errlen, "%s: %s", to, strerror(errno));
        goto out;
    }
    char buf[1 << 16];
    size_t k;
    int bad = 0;
    while (in && !bad && (k = fread(buf, 1, sizeof buf, in)) > 0)
        bad = fwrite(buf, 1, k, out) != k;
    bad |= (in && ferror(in));
    int closed = fclose(out);
    out = NULL;
    if (bad || closed != 0) {
        snprintf(err, errlen, "%s: copy failed", to);
        goto out;
    }
    rc = 0;
out:
    if (out)
        fclose(out);
    if (in)
        fclose(in);
    return rc;
}
