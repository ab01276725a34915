/* sim_register.h: the simulated register of snesync-sim and how it is stored.
 *
 * How to use:
 *     sim_register r;
 *     if (sim_register_open(dir, &r, 0, err, sizeof err) != 0) ...   // read-only, mmapped
 *     for (size_t i = 0; i < r.n; i++) { sim_view v; sim_register_view(&r, i, &v); ... }
 *     sim_register_close(&r);
 *
 * On disk (DIR/), little-endian host order:
 *   register.txt  key=value text: format, seed, snapshot (xs:dateTime), demands, guichet.
 *   demands.bin   `demands` fixed-size sim_demand records, in creation order.
 *   journal.bin   sim_jentry records: the dated items (EVT, CONT, ATTRIB, PRIO, PJ) added by
 *                 `evolve`; the items made at generation time need no storage (their dates are
 *                 hashed between creation and sim_demand.gen_hi).
 *   mouvements.tsv numUnique TAB dateMouvement(UTC): the GDM feed.
 *
 * A demand's data is a pure function of its record (seed + counters + versions), its journal
 * entries and the register's DRM month: see sim_render.h. Nothing else is stored. */
#ifndef SIM_REGISTER_H
#define SIM_REGISTER_H

#include <stddef.h>
#include <stdint.h>

#define SIM_REGISTER_FORMAT  "snesync-sim-register 1"
#define SIM_DEFAULT_SNAPSHOT "2026-10-31T02:00:00+01:00"

enum { SIM_ETAT_ACTIVE = 0, SIM_ETAT_RADIEE = 1 };

/* The keyed entities whose items are counted in a record (index into n[] and g[]). */
enum { SIM_K_EVT, SIM_K_CONT, SIM_K_ATTRIB, SIM_K_PRIO, SIM_K_PJ, SIM_K__COUNT };

#define SIM_F_NIR      0x01 /* the applicant has a NIR */
#define SIM_F_NIR_TEMP 0x02 /* ... but a temporary one (7/8): no DRM */
#define SIM_F_DRM      0x04 /* DRM collected for this applicant */

#define SIM_MAX_ITEMS 250 /* per keyed entity and demand */

typedef struct sim_demand {
    uint64_t seed;     /* everything not stored below is hashed from it */
    int32_t created;   /* dateCreationDemande, days since 1970-01-01 */
    uint32_t lastmod;  /* dateDerniereModification, minutes since 1970 UTC */
    uint32_t gen_hi;   /* generation-time items are dated in [created, gen_hi] (minutes) */
    int32_t rad_day;   /* dateRadiation when RADIEE */
    int32_t cota_day;  /* cotation dateCalcul */
    int32_t dalo_day;  /* DALO dateDecision */
    int32_t dalo_day2; /* DALO dateRelogement */
    char num[18];      /* numUnique, not NUL-terminated */
    uint8_t etat;      /* SIM_ETAT_ */
    uint8_t dept;      /* index in the department table: where the demand seeks housing now */
    uint8_t v_ident, v_res, v_house, v_loc; /* CERFA part versions, bumped by modifications */
    uint8_t renew_n;                        /* renewals done (dateRenouvellement) */
    uint8_t rad_motif;                      /* radiation motive index */
    uint8_t dalo;                           /* 0: no DALO, else status index */
    uint8_t cota_ver;                       /* bumped by each recomputation */
    uint8_t n[SIM_K__COUNT];                /* items of each keyed entity ever made */
    uint8_t g[SIM_K__COUNT];                /* ... of which made at generation time */
    uint8_t pj_checked;                     /* PJ items [0, pj_checked) have been verified */
    uint8_t prio_ended;                     /* PRIO items [0, prio_ended) have a dateFin */
    uint8_t attrib_signed;                  /* 0, or 1 + the ATTRIB item whose lease was signed */
    uint8_t cont_del;                       /* bit i: CONT item i was withdrawn */
    uint8_t flags;                          /* SIM_F_ */
    uint8_t pad[1];
} sim_demand;

_Static_assert(sizeof(sim_demand) == 80, "sim_demand is an on-disk record");

/* An item added by evolve: item `idx` of keyed entity `ent` of demand `demand`, dated `minute`. */
typedef struct sim_jentry {
    uint32_t demand;
    uint32_t minute;
    uint8_t ent, idx;
    uint16_t pad;
} sim_jentry;

_Static_assert(sizeof(sim_jentry) == 12, "sim_jentry is an on-disk record");

typedef struct sim_register {
    uint64_t seed;
    int64_t snapshot; /* UTC seconds */
    char guichet[6];
    size_t n;
    sim_demand *d; /* borrowed from the mapping (read-only open) or owned (writable open) */
    size_t cap;    /* writable: capacity of d */
    size_t nj;
    sim_jentry *j;  /* owned, sorted by (demand, ent, idx) */
    uint32_t *jidx; /* owned, n+1 offsets into j */
    int writable;
    void *map;
    size_t maplen;
} sim_register;

/* A demand and everything its data depends on; all pointers borrowed from a register. */
typedef struct sim_view {
    const sim_demand *d;
    const sim_jentry *j; /* this demand's journal entries, sorted by (ent, idx) */
    size_t nj;
    int drm_last; /* month index (y*12+m-1) of the latest DRM month */
} sim_view;

/* Opens DIR. writable=0 maps demands.bin read-only (cheap, shareable between threads);
 * writable=1 loads it into owned memory for evolve. Returns 0 or -1 with a message. */
int sim_register_open(const char *dir, sim_register *r, int writable, char *err, size_t errlen);
void sim_register_close(sim_register *r);
/* Writes register.txt, demands.bin and journal.bin into DIR (created if needed). */
int sim_register_save(const char *dir, const sim_register *r, char *err, size_t errlen);
/* Rebuilds jidx after j changed (sorts j). */
int sim_register_index_journal(sim_register *r);
void sim_register_view(const sim_register *r, size_t i, sim_view *v);
/* The latest DRM month at a snapshot: the month before the snapshot's month (Paris time). */
int sim_drm_last_month(int64_t snapshot);

#endif
