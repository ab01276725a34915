/* sim_evolve.c: the `evolve` subcommand. See sim_gen.h.
 *
 * The register D days later: each ACTIVE demand draws its events of the window (renewal at its
 * anniversary or radiation for non-renewal, other radiations, form modifications, events, score
 * recomputations, documents and their verification, DALO steps, quotas, priorities, CAL
 * decisions), new demands arrive, and the DRM window moves when a month boundary is crossed.
 *
 * changes.tsv is computed, not predicted: every demand that may have changed is rendered before
 * and after, item by item, for a national ACTIVE export of all nine entities (DRM depth 3), and
 * the items are compared by key. So a listed update always changes the item's bytes, a demand
 * radiated in the window shows as deletes of all its items, a new one as creates, and nothing
 * that did not change is listed. A form modification that happens to render identically is
 * retried on another part of the form. At depth 3 the DRM lines are the register's own: the
 * months published and those that left its window (older than P-2), the only DRM changes the
 * contract's depth rule (README §5) lets an export of any depth make. */
#include "sim_gen.h"
#include "sim_render.h"
#include "core/sim_geo.h"
#include "core/sim_util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- change lines ------------------------------------------------------------------------- */

typedef struct lines {
    sim_buf text;
    size_t *off;
    size_t n, cap;
} lines;

static int lines_add(lines *l, const char *op, const char *num, int ent, const char *key)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        size_t *o = realloc(l->off, cap * sizeof *o);
        if (!o)
            return -1;
        l->off = o;
        l->cap = cap;
    }
    l->off[l->n++] = l->text.len;
    sim_buf_put(&l->text, op, strlen(op));
    SIM_PUTS(&l->text, "\t");
    sim_buf_put(&l->text, num, 18);
    SIM_PUTS(&l->text, "\t");
    sim_buf_put(&l->text, sim_entity_code(ent), strlen(sim_entity_code(ent)));
    SIM_PUTS(&l->text, "\t");
    sim_buf_put(&l->text, key, strlen(key));
    sim_buf_put(&l->text, "\n", 1);
    return l->text.oom ? -1 : 0;
}

static const char *sort_base;

static int cmp_line(const void *a, const void *b)
{
    const unsigned char *x = (const unsigned char *)sort_base + *(const size_t *)a;
    const unsigned char *y = (const unsigned char *)sort_base + *(const size_t *)b;
    while (*x == *y && *x != '\n') {
        x++;
        y++;
    }
    return (int)*x - (int)*y;
}

/* ---- diff of one demand ------------------------------------------------------------------- */

#define MAXIT 260

typedef struct differ {
    sim_buf bo, bn;
    sim_item io[MAXIT], in[MAXIT];
} differ;

/* Compares the items of entity e; appends change lines (when `out`), returns the number of
 * changes. A NULL view means "not in an ACTIVE export". */
static long diff_entity(differ *df, const sim_view *vo, const sim_view *vn, int e, const char *num,
                        lines *out)
{
    int no = 0, nn = 0;
    df->bo.len = df->bn.len = 0;
    if (vo)
        no = sim_render_entity(&df->bo, vo, e, 3, df->io, MAXIT);
    if (vn)
        nn = sim_render_entity(&df->bn, vn, e, 3, df->in, MAXIT);
    if (no > MAXIT)
        no = MAXIT;
    if (nn > MAXIT)
        nn = MAXIT;
    long changes = 0;
    for (int i = 0; i < no; i++) {
        int j;
        for (j = 0; j < nn; j++)
            if (strcmp(df->io[i].key, df->in[j].key) == 0)
                break;
        if (j == nn) {
            changes++;
            if (out && lines_add(out, "delete", num, e, df->io[i].key))
                return -1;
        } else if (df->io[i].len != df->in[j].len ||
                   memcmp(df->bo.p + df->io[i].off, df->bn.p + df->in[j].off, df->io[i].len) != 0) {
            changes++;
            if (out && lines_add(out, "update", num, e, df->io[i].key))
                return -1;
        }
    }
    for (int j = 0; j < nn; j++) {
        int i;
        for (i = 0; i < no; i++)
            if (strcmp(df->io[i].key, df->in[j].key) == 0)
                break;
        if (i == no) {
            changes++;
            if (out && lines_add(out, "create", num, e, df->in[j].key))
                return -1;
        }
    }
    return changes;
}

/* ---- the window --------------------------------------------------------------------------- */

typedef struct window {
    uint32_t lo, hi; /* minutes, exclusive bounds: the old and the new snapshot */
    int32_t old_day, new_day;
    int days;
} window;

static uint32_t pick_t(sim_rng *g, const window *w)
{
    uint32_t span = w->hi - w->lo - 1;
    uint32_t t = w->lo + 1 + (span ? sim_rng_below(g, span) : 0);
    /* office hours (07:00-17:00 UTC) when the day allows it */
    uint32_t t2 = t / 1440 * 1440 + 7 * 60 + sim_rng_below(g, 10 * 60);
    return (t2 > w->lo && t2 < w->hi) ? t2 : t;
}

static uint32_t at_day(sim_rng *g, const window *w, int32_t day)
{
    uint32_t t = (uint32_t)day * 1440u + 7 * 60 + sim_rng_below(g, 10 * 60);
    if (t <= w->lo)
        t = w->lo + 1;
    if (t >= w->hi)
        t = w->hi - 1;
    return t;
}

static double p_window(double per_day, int days)
{
    return 1.0 - pow(1.0 - per_day, days);
}

static int32_t add_years(int32_t day, int years)
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return sim_days_from_civil(y + years, m, d);
}

typedef struct jvec {
    sim_jentry *v;
    size_t n, cap;
} jvec;

static int jvec_add(jvec *j, uint32_t demand, int ent, int idx, uint32_t minute)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 4096;
        sim_jentry *v = realloc(j->v, cap * sizeof *v);
        if (!v)
            return -1;
        j->v = v;
        j->cap = cap;
    }
    sim_jentry *e = &j->v[j->n++];
    memset(e, 0, sizeof *e);
    e->demand = demand;
    e->ent = (uint8_t)ent;
    e->idx = (uint8_t)idx;
    e->minute = minute;
    return 0;
}

/* Adds a dated item of keyed entity k; returns 0 when the demand is at its cap. */
static int add_item(sim_demand *d, jvec *nj, uint32_t i, int k, uint32_t t, int *err)
{
    if (d->n[k] >= SIM_MAX_ITEMS)
        return 0;
    if (jvec_add(nj, i, k, d->n[k], t) != 0) {
        *err = 1;
        return 0;
    }
    d->n[k]++;
    return 1;
}

static void radiate(sim_demand *d, int motif, uint32_t t)
{
    d->etat = SIM_ETAT_RADIEE;
    d->rad_motif = (uint8_t)motif;
    d->rad_day = (int32_t)(t / 1440);
}

/* A form modification on one part; `which` 0..3. */
static void bump_cerfa(sim_demand *d, int which, sim_rng *g)
{
    switch (which) {
    case 0:
        d->v_ident++;
        break;
    case 1:
        d->v_res++;
        break;
    case 2:
        d->v_house++;
        break;
    default:
        d->v_loc++;
        if (sim_rng_below(g, 100) < 5) /* moving to another department */
            d->dept = (uint8_t)sim_dept_pick((uint32_t)sim_rng_next(g));
        break;
    }
}

/* Applies the window's events to an ACTIVE demand. Returns a bit set of what was done:
 * 1 form modification (part in *cerfa_part), 2 other. */
static int apply_ops(sim_demand *d, uint32_t i, sim_rng *g, const window *w, jvec *nj,
                     int *cerfa_part, uint32_t *maxt, int *err)
{
    int did = 0;
    uint32_t mt = 0;
#define TOUCH(t)                                                                                   \
    do {                                                                                           \
        if ((t) > mt)                                                                              \
            mt = (t);                                                                              \
    } while (0)
    const int D = w->days;

    /* renewals at anniversaries, or radiation for non-renewal */
    for (;;) {
        int32_t a = add_years(d->created, d->renew_n + 1);
        /* due at the anniversary's office hours; one due after the new snapshot waits */
        if (a < w->old_day || (uint32_t)a * 1440u + 7 * 60 >= w->hi)
            break;
        uint32_t t = at_day(g, w, a);
        if (sim_rng_below(g, 100) < 9) {
            radiate(d, 1, t);
            TOUCH(t);
            did |= 2;
            goto out;
        }
        d->renew_n++;
        d->v_res++; /* resources are updated at renewal */
        TOUCH(t);
        did |= 2;
        if (sim_rng_below(g, 100) < 60)
            add_item(d, nj, i, SIM_K_EVT, t, err);
    }
    /* other radiations */
    if (sim_rng_chance(g, p_window(0.0003, D))) {
        uint32_t t = pick_t(g, w);
        uint32_t p = sim_rng_below(g, 100);
        int motif = p < 45 ? 2 : p < 80 ? 0 : p < 90 ? 3 : 4;
        if (motif == 0 && add_item(d, nj, i, SIM_K_ATTRIB, t - 1, err))
            d->attrib_signed = d->n[SIM_K_ATTRIB];
        radiate(d, motif, t);
        TOUCH(t);
        did |= 2;
        goto out;
    }
    if (sim_rng_chance(g, p_window(0.003, D))) {
        uint32_t p = sim_rng_below(g, 100);
        *cerfa_part = p < 40 ? 0 : p < 70 ? 1 : p < 90 ? 2 : 3;
        bump_cerfa(d, *cerfa_part, g);
        TOUCH(pick_t(g, w));
        did |= 1;
    }
    if (sim_rng_chance(g, p_window(0.01, D))) {
        int n = 1 + (sim_rng_below(g, 100) < 30) + (sim_rng_below(g, 100) < 10);
        for (int k = 0; k < n; k++) {
            uint32_t t = pick_t(g, w);
            if (add_item(d, nj, i, SIM_K_EVT, t, err))
                TOUCH(t);
        }
        did |= 2;
    }
    if (sim_rng_chance(g, p_window(0.004, D))) {
        uint32_t t = pick_t(g, w);
        d->cota_ver++;
        d->cota_day = (int32_t)(t / 1440);
        TOUCH(t);
        did |= 2;
    }
    if (sim_rng_chance(g, p_window(0.003, D))) {
        int n = 1 + (sim_rng_below(g, 100) < 35);
        for (int k = 0; k < n; k++) {
            uint32_t t = pick_t(g, w);
            if (add_item(d, nj, i, SIM_K_PJ, t, err))
                TOUCH(t);
        }
        did |= 2;
    }
    if (d->pj_checked < d->n[SIM_K_PJ] && sim_rng_chance(g, p_window(0.01, D))) {
        d->pj_checked++;
        TOUCH(pick_t(g, w));
        did |= 2;
    }
    /* DALO: a new appeal now and then; once filed, the commission decides within months and
     * a household recognised priority and urgent is rehoused within a year or so */
    static const double dalo_rate[] = {0.0002, 0.01, 0.003, 0, 0};
    if (d->dalo < 3 && sim_rng_chance(g, p_window(dalo_rate[d->dalo], D))) {
        uint32_t t = pick_t(g, w);
        int32_t day = (int32_t)(t / 1440);
        if (d->dalo == 0) {
            d->dalo = 1;
            d->dalo_day = day;
        } else if (d->dalo == 1) {
            d->dalo = sim_rng_below(g, 100) < 70 ? 2 : 3;
            d->dalo_day = day;
        } else {
            d->dalo = 4;
            d->dalo_day2 = day;
        }
        TOUCH(t);
        did |= 2;
    }
    if (sim_rng_chance(g, p_window(0.0005, D))) {
        uint32_t t = pick_t(g, w);
        if (add_item(d, nj, i, SIM_K_CONT, t, err))
            TOUCH(t);
        did |= 2;
    }
    if (sim_rng_chance(g, p_window(0.0005, D))) {
        for (int k = 0; k < d->n[SIM_K_CONT] && k < 8; k++)
            if (!((d->cont_del >> k) & 1)) {
                d->cont_del |= (uint8_t)(1u << k);
                TOUCH(pick_t(g, w));
                did |= 2;
                break;
            }
    }
    if (sim_rng_chance(g, p_window(0.0005, D))) {
        uint32_t t = pick_t(g, w);
        if (add_item(d, nj, i, SIM_K_PRIO, t, err))
            TOUCH(t);
        did |= 2;
    }
    if (d->prio_ended < d->n[SIM_K_PRIO] && sim_rng_chance(g, p_window(0.0005, D))) {
        d->prio_ended++;
        TOUCH(pick_t(g, w));
        did |= 2;
    }
    if (sim_rng_chance(g, p_window(0.0004, D))) {
        uint32_t t = pick_t(g, w);
        if (add_item(d, nj, i, SIM_K_ATTRIB, t, err)) {
            TOUCH(t);
            if (sim_rng_below(g, 100) < 25) { /* accepted: lease signed, demand satisfied */
                d->attrib_signed = d->n[SIM_K_ATTRIB];
                uint32_t t2 = t + (20 + sim_rng_below(g, 30)) * 1440;
                if (t2 < w->hi) {
                    radiate(d, 0, t2);
                    TOUCH(t2);
                }
            }
        }
        did |= 2;
    }
out:
    *maxt = mt;
    return did;
#undef TOUCH
}

/* Journal entries of one demand: old slice followed by this window's, as one sorted array. */
static size_t merge_slice(const sim_jentry *a, size_t na, const sim_jentry *b, size_t nb,
                          sim_jentry **buf, size_t *cap)
{
    size_t n = na + nb;
    if (n > *cap) {
        sim_jentry *p = realloc(*buf, n * sizeof *p);
        if (!p)
            return (size_t)-1;
        *buf = p;
        *cap = n;
    }
    if (na)
        memcpy(*buf, a, na * sizeof *a);
    if (nb)
        memcpy(*buf + na, b, nb * sizeof *b);
    /* insertion sort by (ent, idx): tiny arrays */
    for (size_t i = 1; i < n; i++) {
        sim_jentry x = (*buf)[i];
        size_t j = i;
        while (j > 0 && ((*buf)[j - 1].ent > x.ent ||
                         ((*buf)[j - 1].ent == x.ent && (*buf)[j - 1].idx > x.idx))) {
            (*buf)[j] = (*buf)[j - 1];
            j--;
        }
        (*buf)[j] = x;
    }
    return n;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        if (errno == ENOENT) { /* no feed yet: start an empty one */
            FILE *o = fopen(to, "wb");
            if (!o || fclose(o) != 0) {
                snprintf(err, errlen, "%s: %s", to, strerror(errno));
                return -1;
            }
            return 0;
        }
        snprintf(err, errlen, "%s: %s", from, strerror(errno));
        return -1;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        snprintf(err, errlen, "%s: %s", to, strerror(errno));
        fclose(in);
        return -1;
    }
    char buf[1 << 16];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, k, out);
    int bad = ferror(in) || fclose(out) != 0;
    fclose(in);
    if (bad) {
        snprintf(err, errlen, "%s: copy failed", to);
        return -1;
    }
    return 0;
}

int sim_evolve(const char *from_dir, const char *out_dir, int days, uint64_t seed,
               sim_evolve_stats *st, char *err, size_t errlen)
{
    int rc = -1;
    sim_register r;
    sim_numbering nb = {0};
    jvec nj = {0};
    lines out = {0};
    differ *df = NULL;
    uint32_t *moved = NULL;
    uint32_t *njidx = NULL;
    sim_jentry *sl_old = NULL, *sl_new = NULL;
    size_t cap_old = 0, cap_new = 0;
    memset(st, 0, sizeof *st);
    memset(&r, 0, sizeof r);

    char rp1[PATH_MAX], rp2[PATH_MAX];
    mkdir(out_dir, 0700);
    if (realpath(from_dir, rp1) && realpath(out_dir, rp2) && strcmp(rp1, rp2) == 0) {
        snprintf(err, errlen, "--out must differ from --from");
        return -1;
    }
    if (sim_register_open(from_dir, &r, 1, err, errlen) != 0)
        return -1;
    df = calloc(1, sizeof *df);
    if (!df || sim_numbering_init(&nb) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r.n; i++)
        sim_numbering_see(&nb, r.d[i].num);

    window w;
    int64_t new_snap = r.snapshot + (int64_t)days * 86400;
    w.lo = (uint32_t)(r.snapshot / 60);
    w.hi = (uint32_t)(new_snap / 60);
    w.old_day = sim_paris_day(r.snapshot);
    w.new_day = sim_paris_day(new_snap);
    w.days = days;
    int old_drm = sim_drm_last_month(r.snapshot), new_drm = sim_drm_last_month(new_snap);
    int rollover = old_drm != new_drm;
    uint64_t eseed = seed ? seed : sim_h(r.seed, (uint64_t)r.snapshot * 7919u + (uint64_t)days);
    size_t old_n = r.n;

    /* new demands: about 0.05% of the active register a day */
    size_t active = 0;
    for (size_t i = 0; i < old_n; i++)
        active += r.d[i].etat == SIM_ETAT_ACTIVE;
    sim_rng gn;
    sim_rng_seed(&gn, sim_h(eseed, 0xC0FFEEull));
    double expect = (double)active * 0.0005 * days;
    size_t n_new = (size_t)expect + (sim_rng_chance(&gn, expect - floor(expect)) ? 1 : 0);
    if (old_n + n_new > r.cap) {
        sim_demand *p = realloc(r.d, (old_n + n_new) * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        r.d = p;
        r.cap = old_n + n_new;
    }
    moved = malloc((old_n + n_new + 1) * sizeof *moved);
    if (!moved) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t nmoved = 0;
    int oom = 0;

    for (size_t i = 0; i < old_n; i++) {
        sim_demand *d = &r.d[i];
        if (d->etat != SIM_ETAT_ACTIVE)
            continue;
        sim_demand before = *d;
        sim_rng g;
        sim_rng_seed(&g, sim_h(eseed, i));
        size_t j0 = nj.n;
        int part = -1;
        uint32_t mt = 0;
        int did = apply_ops(d, (uint32_t)i, &g, &w, &nj, &part, &mt, &oom);
        if (oom)
            break;
        if (!did && !(rollover && (d->flags & SIM_F_DRM)))
            continue;
        sim_view vo = {&before, r.j + r.jidx[i], r.jidx[i + 1] - r.jidx[i], old_drm};
        size_t ns = merge_slice(vo.j, vo.nj, nj.v + j0, nj.n - j0, &sl_new, &cap_new);
        if (ns == (size_t)-1) {
            oom = 1;
            break;
        }
        sim_view vn = {d, sl_new, ns, new_drm};
        int active_after = d->etat == SIM_ETAT_ACTIVE;
        /* a form modification that renders identically is redone on another part */
        if (did & 1) {
            for (int tries = 0; tries < 4; tries++) {
                if (diff_entity(df, &vo, &vn, SIM_ENT_CERFA, d->num, NULL) > 0)
                    break;
                part = (part + 1) % 4;
                bump_cerfa(d, part, &g);
            }
        }
        long non_drm = 0;
        for (int e = 0; e < SIM_ENT__COUNT; e++) {
            long c = diff_entity(df, &vo, active_after ? &vn : NULL, e, d->num, &out);
            if (c < 0) {
                oom = 1;
                break;
            }
            st->changes += (uint64_t)c;
            if (e != SIM_ENT_DRM)
                non_drm += c;
        }
        if (oom)
            break;
        if (non_drm > 0 || !active_after) {
            d->lastmod = mt > d->lastmod ? mt : d->lastmod;
            moved[nmoved++] = (uint32_t)i;
            if (!active_after)
                st->radiated++;
            else
                st->modified++;
        }
    }
    (void)sl_old;
    (void)cap_old;
    if (oom) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }

    /* new demands, appended in creation order */
    uint32_t *ts = malloc((n_new ? n_new : 1) * sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_new; k++)
        ts[k] = pick_t(&gn, &w);
    for (size_t a = 1; a < n_new; a++) { /* sort instants: numbering follows time */
        uint32_t x = ts[a];
        size_t b = a;
        while (b > 0 && ts[b - 1] > x) {
            ts[b] = ts[b - 1];
            b--;
        }
        ts[b] = x;
    }
    for (size_t k = 0; k < n_new; k++) {
        size_t i = old_n + k;
        sim_rng g;
        sim_rng_seed(&g, sim_h(eseed ^ 0x4E4557ull, k));
        uint32_t t = ts[k];
        sim_demand *d = &r.d[i];
        int di = sim_dept_pick((uint32_t)sim_rng_next(&g));
        int32_t created = sim_paris_day((int64_t)t * 60);
        sim_demand_init(d, sim_h(eseed ^ 0x5EEDull, k), di, created, &nb);
        d->lastmod = t;
        d->gen_hi = t;
        d->cota_day = created;
        d->n[SIM_K_EVT] = (uint8_t)(sim_rng_below(&g, 100) < 50);
        uint32_t p = sim_rng_below(&g, 100);
        d->n[SIM_K_PJ] = (uint8_t)(p < 30 ? 0 : 1 + sim_rng_below(&g, 3));
        d->n[SIM_K_PRIO] = (uint8_t)(sim_rng_below(&g, 100) < 5);
        memcpy(d->g, d->n, sizeof d->g);
        r.n = i + 1;
        sim_view vn = {d, NULL, 0, new_drm};
        for (int e = 0; e < SIM_ENT__COUNT; e++) {
            long c = diff_entity(df, NULL, &vn, e, d->num, &out);
            if (c < 0) {
                free(ts);
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            st->changes += (uint64_t)c;
        }
        moved[nmoved++] = (uint32_t)i;
        st->created++;
    }
    free(ts);
    st->moved = nmoved;

    /* the register after */
    if (nj.n) {
        sim_jentry *p = realloc(r.j, (r.nj + nj.n) * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(p + r.nj, nj.v, nj.n * sizeof *p);
        r.j = p;
        r.nj += nj.n;
    }
    r.snapshot = new_snap;
    if (sim_register_index_journal(&r) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (sim_register_save(out_dir, &r, err, errlen) != 0)
        goto out;

    /* changes.tsv, sorted bytewise */
    sort_base = out.text.p;
    if (out.n)
        qsort(out.off, out.n, sizeof *out.off, cmp_line);
    char path[PATH_MAX + 32], path2[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/changes.tsv", out_dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (size_t k = 0; k < out.n; k++) {
        const char *s = out.text.p + out.off[k];
        fwrite(s, 1, (size_t)(strchr(s, '\n') - s + 1), f);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/mouvements.tsv", from_dir);
    snprintf(path2, sizeof path2, "%s/mouvements.tsv", out_dir);
    if (copy_file(path, path2, err, errlen) != 0)
        goto out;
    if (sim_write_mouvements(path2, "a", r.d, moved, nmoved, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    free(njidx);
    free(sl_old);
    free(sl_new);
    free(moved);
    free(nj.v);
    free(out.off);
    sim_buf_free(&out.text);
    if (df) {
        sim_buf_free(&df->bo);
        sim_buf_free(&df->bn);
        free(df);
    }
    sim_numbering_free(&nb);
    sim_register_close(&r);
    return rc;
}
