/* sim_evolve.c: the `evolve` subcommand. See sim_gen.h.
 *
 * The register D days later: each ACTIVE demand draws the events of the window (sim_events.h),
 * new demands arrive, and the DRM window moves when a month boundary is crossed. Every demand
 * that may have changed is diffed before and after (sim_changes.h): so a listed update always
 * changes the item's bytes, a demand radiated in the window shows as deletes of all its items, a
 * new one as creates, and nothing that did not change is listed. A form modification that
 * happens to render identically is redone on another part of the form. At depth 3 the DRM lines
 * are the register's own: the months published and those that left its window (older than P-2),
 * the only DRM changes the contract's depth rule (README §5) lets an export of any depth make. */
#include "sim_gen.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_changes.h"
#include "sim_events.h"
#include "sim_export.h"
#include "sim_newdemand.h"
#include "core/sim_geo.h"
#include "core/sim_util.h"

/* One run of evolve: the register being changed and what the run collects. */
typedef struct evolve {
    sim_register r; /* writable: grows by the new demands */
    sim_numbering nb;
    sim_journal_add nj; /* the window's journal entries */
    sim_changes *changes;
    uint32_t *moved; /* the demands that moved (GDM feed), nmoved of them */
    size_t nmoved;
    sim_jentry *slice; /* one demand's journal after the window (old + new entries) */
    size_t slice_cap;
    sim_window w;
    int old_drm, new_drm; /* the latest DRM month before and after */
    uint64_t seed;        /* of the window's events */
    sim_evolve_stats *st;
} evolve;

/* Opens the register of from_dir for writing and prepares the window. */
static int evolve_open(evolve *e, const char *from_dir, const char *out_dir, int days,
                       uint64_t seed, char *err, size_t errlen)
{
    char rp1[PATH_MAX], rp2[PATH_MAX];
    (void)mkdir(out_dir, 0700); /* for realpath(); sim_register_save() reports a failure */
    if (realpath(from_dir, rp1) && realpath(out_dir, rp2) && strcmp(rp1, rp2) == 0) {
        snprintf(err, errlen, "--out must differ from --from");
        return -1;
    }
    if (sim_register_open(from_dir, &e->r, 1, err, errlen) != 0)
        return -1;
    if (!(e->changes = sim_changes_new()) || sim_numbering_init(&e->nb) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < e->r.n; i++)
        sim_numbering_see(&e->nb, e->r.d[i].num);
    int64_t old_snap = e->r.snapshot, new_snap = old_snap + (int64_t)days * 86400;
    e->w.lo = (uint32_t)(old_snap / 60);
    e->w.hi = (uint32_t)(new_snap / 60);
    e->w.old_day = sim_paris_day(old_snap);
    e->w.days = days;
    e->old_drm = sim_drm_last_month(old_snap);
    e->new_drm = sim_drm_last_month(new_snap);
    e->seed = seed ? seed : sim_h(e->r.seed, (uint64_t)old_snap * 7919u + (uint64_t)days);
    return 0;
}

/* About 0.05% of the ACTIVE register a day: the whole part of the expectation, and one more with
 * the probability of its fraction (drawn from gn). */
static size_t new_demand_count(const evolve *e, sim_rng *gn)
{
    size_t active = 0;
    for (size_t i = 0; i < e->r.n; i++)
        active += e->r.d[i].etat == SIM_ETAT_ACTIVE;
    double expect = (double)active * 0.0005 * e->w.days;
    return (size_t)expect + (sim_rng_chance(gn, expect - floor(expect)) ? 1 : 0);
}

/* Room for n_new more demands in the register and in the list of those that moved. */
static int make_room(evolve *e, size_t n_new)
{
    size_t n = e->r.n + n_new;
    if (n > e->r.cap) {
        sim_demand *p = realloc(e->r.d, n * sizeof *p);
        if (!p)
            return -1;
        e->r.d = p;
        e->r.cap = n;
    }
    e->moved = malloc((n + 1) * sizeof *e->moved);
    return e->moved ? 0 : -1;
}

/* The journal entries of one demand after the window: its old ones and the window's new ones
 * (nb of them from `b`), sorted by (entity, index), in e->slice. Returns their count, or
 * (size_t)-1 when out of memory. */
static size_t merge_slice(evolve *e, const sim_jentry *a, size_t na, const sim_jentry *b, size_t nb)
{
    size_t n = na + nb;
    if (n > e->slice_cap) {
        sim_jentry *p = realloc(e->slice, n * sizeof *p);
        if (!p)
            return (size_t)-1;
        e->slice = p;
        e->slice_cap = n;
    }
    sim_jentry *s = e->slice;
    if (na)
        memcpy(s, a, na * sizeof *a);
    if (nb)
        memcpy(s + na, b, nb * sizeof *b);
    for (size_t i = 1; i < n; i++) { /* insertion sort: tiny arrays */
        sim_jentry x = s[i];
        size_t j = i;
        while (j > 0 && (s[j - 1].ent > x.ent || (s[j - 1].ent == x.ent && s[j - 1].idx > x.idx))) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x;
    }
    return n;
}

/* A form modification (of `part`) that renders identically is redone on another part, up to 4
 * times; d is the demand that vn shows. */
static int make_form_change_show(evolve *e, sim_demand *d, const sim_view *vo, const sim_view *vn,
                                 int part, sim_rng *g)
{
    for (int tries = 0; tries < 4; tries++) {
        long c = sim_changes_diff(e->changes, vo, vn, SIM_ENT_CERFA, 0);
        if (c != 0)
            return c < 0 ? -1 : 0;
        part = (part + 1) % 4;
        sim_events_modify_form(d, part, g);
    }
    return 0;
}

/* Diffs every entity of a demand before and after (vn NULL: radiated); counts the changes into
 * the stats and the non-DRM ones into *non_drm. */
static int diff_demand(evolve *e, const sim_view *vo, const sim_view *vn, long *non_drm)
{
    *non_drm = 0;
    for (int ent = 0; ent < SIM_ENT__COUNT; ent++) {
        long c = sim_changes_diff(e->changes, vo, vn, ent, 1);
        if (c < 0)
            return -1;
        e->st->changes += (uint64_t)c;
        if (ent != SIM_ENT_DRM)
            *non_drm += c;
    }
    return 0;
}

/* The window of existing demand i (ACTIVE): its events, then its changes. */
static int evolve_demand(evolve *e, size_t i)
{
    sim_register *r = &e->r;
    sim_demand *d = &r->d[i];
    sim_demand before = *d;
    sim_rng g;
    sim_rng_seed(&g, sim_h(e->seed, i));
    size_t j0 = e->nj.n;
    sim_events ev;
    if (sim_events_apply(d, (uint32_t)i, &g, &e->w, &e->nj, &ev) != 0)
        return -1;
    if (!ev.did && !(e->old_drm != e->new_drm && (d->flags & SIM_F_DRM)))
        return 0; /* nothing to compare: no event, and no DRM month published or gone */
    sim_view vo = {&before, r->j + r->jidx[i], r->jidx[i + 1] - r->jidx[i], e->old_drm};
    size_t ns = merge_slice(e, vo.j, vo.nj, e->nj.v + j0, e->nj.n - j0);
    if (ns == (size_t)-1)
        return -1;
    sim_view vn = {d, e->slice, ns, e->new_drm};
    int active_after = d->etat == SIM_ETAT_ACTIVE;
    long non_drm;
    if ((ev.did & SIM_DID_FORM) && make_form_change_show(e, d, &vo, &vn, ev.cerfa_part, &g) != 0)
        return -1;
    if (diff_demand(e, &vo, active_after ? &vn : NULL, &non_drm) != 0)
        return -1;
    if (non_drm > 0 || !active_after) {
        d->lastmod = ev.last > d->lastmod ? ev.last : d->lastmod;
        e->moved[e->nmoved++] = (uint32_t)i;
        if (!active_after)
            e->st->radiated++;
        else
            e->st->modified++;
    }
    return 0;
}

/* New demand k of the window, created at instant t (appended to the register). */
static int add_demand(evolve *e, size_t k, uint32_t t)
{
    size_t i = e->r.n;
    sim_rng g;
    sim_rng_seed(&g, sim_h(e->seed ^ 0x4E4557ull, k));
    sim_demand *d = &e->r.d[i];
    int di = sim_dept_pick((uint32_t)sim_rng_next(&g));
    int32_t created = sim_paris_day((int64_t)t * 60);
    sim_demand_init(d, sim_h(e->seed ^ 0x5EEDull, k), di, created, &e->nb);
    d->lastmod = t;
    d->gen_hi = t;
    d->cota_day = created;
    d->n[SIM_K_EVT] = (uint8_t)(sim_rng_below(&g, 100) < 50);
    uint32_t p = sim_rng_below(&g, 100);
    d->n[SIM_K_PJ] = (uint8_t)(p < 30 ? 0 : 1 + sim_rng_below(&g, 3));
    d->n[SIM_K_PRIO] = (uint8_t)(sim_rng_below(&g, 100) < 5);
    memcpy(d->g, d->n, sizeof d->g);
    e->r.n = i + 1;
    sim_view vn = {d, NULL, 0, e->new_drm};
    long non_drm;
    if (diff_demand(e, NULL, &vn, &non_drm) != 0)
        return -1;
    e->moved[e->nmoved++] = (uint32_t)i;
    e->st->created++;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The window's new demands, in creation order (numbering follows time); instants from gn. */
static int add_demands(evolve *e, sim_rng *gn, size_t n_new)
{
    uint32_t *ts = malloc((n_new ? n_new : 1) * sizeof *ts);
    if (!ts)
        return -1;
    for (size_t k = 0; k < n_new; k++)
        ts[k] = sim_window_pick(gn, &e->w);
    qsort(ts, n_new, sizeof *ts, cmp_u32);
    int rc = 0;
    for (size_t k = 0; k < n_new && rc == 0; k++)
        rc = add_demand(e, k, ts[k]);
    free(ts);
    return rc;
}

/* The register after: the window's journal entries appended, the new snapshot. */
static int evolve_save(evolve *e, const char *out_dir, char *err, size_t errlen)
{
    sim_register *r = &e->r;
    if (e->nj.n) {
        sim_jentry *p = realloc(r->j, (r->nj + e->nj.n) * sizeof *p);
        if (!p)
            goto oom;
        memcpy(p + r->nj, e->nj.v, e->nj.n * sizeof *p);
        r->j = p;
        r->nj += e->nj.n;
    }
    r->snapshot += (int64_t)e->w.days * 86400;
    if (sim_register_index_journal(r) != 0)
        goto oom;
    return sim_register_save(out_dir, r, err, errlen);
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* changes.tsv, and mouvements.tsv: the old feed extended with the demands that moved. */
static int write_feeds(evolve *e, const char *from_dir, const char *out_dir, char *err,
                       size_t errlen)
{
    char path[PATH_MAX + 32], path2[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/changes.tsv", out_dir);
    if (sim_changes_write(e->changes, path, err, errlen) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/mouvements.tsv", from_dir);
    snprintf(path2, sizeof path2, "%s/mouvements.tsv", out_dir);
    if (sim_mouvements_copy(path, path2, err, errlen) != 0)
        return -1;
    return sim_mouvements_write(path2, "a", e->r.d, e->moved, e->nmoved, err, errlen);
}

int sim_evolve(const char *from_dir, const char *out_dir, int days, uint64_t seed,
               sim_evolve_stats *st, char *err, size_t errlen)
{
    int rc = -1;
    evolve e;
    memset(&e, 0, sizeof e);
    memset(st, 0, sizeof *st);
    e.st = st;
    if (evolve_open(&e, from_dir, out_dir, days, seed, err, errlen) != 0)
        goto out;
    sim_rng gn; /* the new demands' count and instants */
    sim_rng_seed(&gn, sim_h(e.seed, 0xC0FFEEull));
    size_t n_old = e.r.n, n_new = new_demand_count(&e, &gn);
    if (make_room(&e, n_new) != 0)
        goto oom;
    for (size_t i = 0; i < n_old; i++)
        if (e.r.d[i].etat == SIM_ETAT_ACTIVE && evolve_demand(&e, i) != 0)
            goto oom;
    if (add_demands(&e, &gn, n_new) != 0)
        goto oom;
    st->moved = e.nmoved;
    if (evolve_save(&e, out_dir, err, errlen) != 0 ||
        write_feeds(&e, from_dir, out_dir, err, errlen) != 0)
        goto out;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory, or more than %zu MiB of change lines",
             SIM_CHANGES_CAP >> 20);
out:
    free(e.slice);
    free(e.moved);
    free(e.nj.v);
    sim_changes_free(e.changes);
    sim_numbering_free(&e.nb);
    sim_register_close(&e.r);
    return rc;
}
