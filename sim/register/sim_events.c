/* sim_events.c: see sim_events.h. The rates are per day; an event of rate p happens in a window
 * of D days with probability 1 - (1 - p)^D. Draws are made in a fixed order, so that the same
 * demand, window and generator always give the same events. */
#include "sim_events.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim_geo.h"

/* The demand being evolved and what happened to it so far. */
typedef struct ops {
    sim_demand *d;
    uint32_t i; /* its index, for journal entries */
    sim_rng *g;
    const sim_window *w;
    sim_journal_add *nj;
    sim_events *out;
    int oom;
} ops;

uint32_t sim_window_pick(sim_rng *g, const sim_window *w)
{
    uint32_t span = w->hi - w->lo - 1;
    uint32_t t = w->lo + 1 + (span ? sim_rng_below(g, span) : 0);
    /* office hours (07:00-17:00 UTC) when the day allows it */
    uint32_t t2 = t / 1440 * 1440 + 7 * 60 + sim_rng_below(g, 10 * 60);
    return (t2 > w->lo && t2 < w->hi) ? t2 : t;
}

/* An instant of `day` in office hours, kept inside the window. */
static uint32_t at_day(sim_rng *g, const sim_window *w, int32_t day)
{
    uint32_t t = (uint32_t)day * 1440u + 7 * 60 + sim_rng_below(g, 10 * 60);
    if (t <= w->lo)
        t = w->lo + 1;
    if (t >= w->hi)
        t = w->hi - 1;
    return t;
}

/* 1 with the probability that an event of daily rate `per_day` happens in the window. */
static int happens(ops *o, double per_day)
{
    return sim_rng_chance(o->g, 1.0 - pow(1.0 - per_day, o->w->days));
}

/* Records an event at instant t. */
static void touch(ops *o, uint32_t t)
{
    if (t > o->out->last)
        o->out->last = t;
    o->out->did |= SIM_DID_OTHER;
}

/* The latest event after a change of state (a form modified, a document verified, a quota
 * withdrawn, a priority ended): an instant is drawn from the window, and when it is later than
 * the latest so far, the latest becomes a second, independent draw (which may be earlier). The
 * simulator has always done so (a macro evaluated its argument twice); doing otherwise would
 * change every evolved register, so it is kept on purpose. */
static uint32_t state_change_instant(ops *o)
{
    uint32_t last = o->out->last;
    if (sim_window_pick(o->g, o->w) > last)
        last = sim_window_pick(o->g, o->w);
    return last;
}

static int journal_add(sim_journal_add *j, uint32_t demand, int ent, int idx, uint32_t minute)
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

/* Adds an item of keyed entity k dated t; returns 0 when the demand is at its cap (or out of
 * memory: o->oom). */
static int add_item(ops *o, int k, uint32_t t)
{
    sim_demand *d = o->d;
    if (d->n[k] >= SIM_MAX_ITEMS)
        return 0;
    if (journal_add(o->nj, o->i, k, d->n[k], t) != 0) {
        o->oom = 1;
        return 0;
    }
    d->n[k]++;
    return 1;
}

/* n items of keyed entity k at instants of the window. */
static void add_items(ops *o, int k, int n)
{
    for (int j = 0; j < n; j++) {
        uint32_t t = sim_window_pick(o->g, o->w);
        if (add_item(o, k, t))
            touch(o, t);
    }
    o->out->did |= SIM_DID_OTHER;
}

static void radiate(ops *o, int motif, uint32_t t)
{
    o->d->etat = SIM_ETAT_RADIEE;
    o->d->rad_motif = (uint8_t)motif;
    o->d->rad_day = (int32_t)(t / 1440);
    touch(o, t);
}

void sim_events_modify_form(sim_demand *d, int which, sim_rng *g)
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

/* Renewals at the anniversaries in the window; 9 in 100 are radiated for non-renewal instead.
 * Returns 1 when the demand was radiated. */
static int renewals(ops *o)
{
    sim_demand *d = o->d;
    for (;;) {
        int32_t a = sim_add_years(d->created, d->renew_n + 1);
        /* due at the anniversary's office hours; one due after the new snapshot waits */
        if (a < o->w->old_day || (uint32_t)a * 1440u + 7 * 60 >= o->w->hi)
            return 0;
        uint32_t t = at_day(o->g, o->w, a);
        if (sim_rng_below(o->g, 100) < 9) {
            radiate(o, 1, t);
            return 1;
        }
        d->renew_n++;
        d->v_res++; /* resources are updated at renewal */
        touch(o, t);
        if (sim_rng_below(o->g, 100) < 60)
            add_item(o, SIM_K_EVT, t);
    }
}

/* Abandon, attribution with a signed lease, ... Returns 1 when the demand was radiated. */
static int other_radiation(ops *o)
{
    if (!happens(o, 0.0003))
        return 0;
    uint32_t t = sim_window_pick(o->g, o->w);
    uint32_t p = sim_rng_below(o->g, 100);
    int motif = p < 45 ? 2 : p < 80 ? 0 : p < 90 ? 3 : 4;
    if (motif == 0 && add_item(o, SIM_K_ATTRIB, t - 1))
        o->d->attrib_signed = o->d->n[SIM_K_ATTRIB];
    radiate(o, motif, t);
    return 1;
}

static void form_modification(ops *o)
{
    if (!happens(o, 0.003))
        return;
    uint32_t p = sim_rng_below(o->g, 100);
    o->out->cerfa_part = p < 40 ? 0 : p < 70 ? 1 : p < 90 ? 2 : 3;
    sim_events_modify_form(o->d, o->out->cerfa_part, o->g);
    o->out->last = state_change_instant(o);
    o->out->did |= SIM_DID_FORM;
}

static void score(ops *o)
{
    if (!happens(o, 0.004))
        return;
    uint32_t t = sim_window_pick(o->g, o->w);
    o->d->cota_ver++;
    o->d->cota_day = (int32_t)(t / 1440);
    touch(o, t);
}

/* One more of the first `limit` items gets a later state (a document verified, a priority
 * ended): *counter counts them. */
static void advance(ops *o, uint8_t *counter, uint8_t limit, double per_day)
{
    if (*counter < limit && happens(o, per_day)) {
        ++*counter;
        o->out->last = state_change_instant(o);
        o->out->did |= SIM_DID_OTHER;
    }
}

/* DALO: a new appeal now and then; once filed, the commission decides within months, and a
 * household recognised priority and urgent is rehoused within a year or so. */
static void dalo(ops *o)
{
    static const double rate[] = {0.0002, 0.01, 0.003, 0, 0};
    sim_demand *d = o->d;
    if (d->dalo >= 3 || !happens(o, rate[d->dalo]))
        return;
    uint32_t t = sim_window_pick(o->g, o->w);
    int32_t day = (int32_t)(t / 1440);
    if (d->dalo == 0) {
        d->dalo = 1;
        d->dalo_day = day;
    } else if (d->dalo == 1) {
        d->dalo = sim_rng_below(o->g, 100) < 70 ? 2 : 3;
        d->dalo_day = day;
    } else {
        d->dalo = 4;
        d->dalo_day2 = day;
    }
    touch(o, t);
}

/* The first quota still held is withdrawn. */
static void quota_withdrawn(ops *o)
{
    sim_demand *d = o->d;
    if (!happens(o, 0.0005))
        return;
    for (int k = 0; k < d->n[SIM_K_CONT] && k < 8; k++)
        if (!((d->cont_del >> k) & 1)) {
            d->cont_del |= (uint8_t)(1u << k);
            o->out->last = state_change_instant(o);
            o->out->did |= SIM_DID_OTHER;
            return;
        }
}

/* A CAL decision; a quarter are accepted: the lease is signed and the demand radiated. */
static void cal_decision(ops *o)
{
    if (!happens(o, 0.0004))
        return;
    uint32_t t = sim_window_pick(o->g, o->w);
    if (add_item(o, SIM_K_ATTRIB, t)) {
        touch(o, t);
        if (sim_rng_below(o->g, 100) < 25) {
            o->d->attrib_signed = o->d->n[SIM_K_ATTRIB];
            uint32_t t2 = t + (20 + sim_rng_below(o->g, 30)) * 1440;
            if (t2 < o->w->hi)
                radiate(o, 0, t2);
        }
    }
    o->out->did |= SIM_DID_OTHER;
}

int sim_events_apply(sim_demand *d, uint32_t i, sim_rng *g, const sim_window *w,
                     sim_journal_add *nj, sim_events *out)
{
    ops o = {d, i, g, w, nj, out, 0};
    memset(out, 0, sizeof *out);
    out->cerfa_part = -1;
    if (renewals(&o) || other_radiation(&o))
        return o.oom ? -1 : 0;
    form_modification(&o);
    if (happens(&o, 0.01)) {
        int two = sim_rng_below(g, 100) < 30, three = sim_rng_below(g, 100) < 10;
        add_items(&o, SIM_K_EVT, 1 + two + three);
    }
    score(&o);
    if (happens(&o, 0.003))
        add_items(&o, SIM_K_PJ, 1 + (sim_rng_below(g, 100) < 35));
    advance(&o, &d->pj_checked, d->n[SIM_K_PJ], 0.01);
    dalo(&o);
    if (happens(&o, 0.0005))
        add_items(&o, SIM_K_CONT, 1);
    quota_withdrawn(&o);
    if (happens(&o, 0.0005))
        add_items(&o, SIM_K_PRIO, 1);
    advance(&o, &d->prio_ended, d->n[SIM_K_PRIO], 0.0005);
    cal_decision(&o);
    return o.oom ? -1 : 0;
}
