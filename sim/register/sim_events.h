/* sim_events.h: what happens to one ACTIVE demand during an `evolve` window: renewal at its
 * anniversary (or radiation for non-renewal), other radiations, form modifications, events,
 * score recomputations, documents and their verification, DALO steps, quotas, priorities and CAL
 * decisions, each at its own daily rate. Internal to register/ (sim_evolve.c). */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim_register.h"
#include "core/sim_util.h"

/* The window: from the old snapshot to the new one. */
typedef struct sim_window {
    uint32_t lo, hi; /* minutes since 1970 UTC, exclusive bounds */
    int32_t old_day; /* Paris day of the old snapshot */
    int days;        /* its length */
} sim_window;

/* The journal entries made during a window (the dated items added), in order of creation. */
typedef struct sim_journal_add {
    sim_jentry *v; /* owned: free() */
    size_t n, cap;
} sim_journal_add;

/* What the events did to a demand: bits of `did`. */
#define SIM_DID_FORM  1 /* a form modification, of part `cerfa_part` */
#define SIM_DID_OTHER 2 /* anything else */

typedef struct sim_events {
    int did;
    int cerfa_part; /* 0..3 when did & SIM_DID_FORM */
    uint32_t last;  /* the latest instant of an event (minutes), 0 if none */
} sim_events;

/* Draws the window's events of demand d (index i) from g, and applies them to d; the dated items
 * added go to nj. Returns 0, or -1 when out of memory (d may then be half changed). */
int sim_events_apply(sim_demand *d, uint32_t i, sim_rng *g, const sim_window *w,
                     sim_journal_add *nj, sim_events *out);

/* Part `which` (0 contact, 1 resources, 2 household, 3 location) of the form is modified; a
 * location change moves to another department 5 times in 100 (drawn from g). */
void sim_events_modify_form(sim_demand *d, int which, sim_rng *g);

/* An instant strictly inside the window, in office hours (07:00-17:00 UTC) when possible. */
uint32_t sim_window_pick(sim_rng *g, const sim_window *w);

#endif
