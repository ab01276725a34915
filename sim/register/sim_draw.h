/* sim_draw.h: the draws the renderers of register/ share (internal to register/): the tags that
 * keep a demand's independent draws apart, the applicant's identity, the sought communes and
 * their EPCI. Each function is a pure function of its arguments (thread-safe). */
#ifndef SIM_DRAW_H
#define SIM_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim_register.h"
#include "core/sim_util.h"

/* Tags of sim_h(seed, tag), one per independent draw made from a demand's seed. Their values are
 * part of what a seed renders: never renumber them. */
enum {
    SIM_T_IDENT = 1, /* identity of the applicant */
    SIM_T_CONTACT,   /* contact: usage name, phone, e-mail, address (version v_ident) */
    SIM_T_HOUSE,     /* household (v_house) */
    SIM_T_RES,       /* resources and occupation (v_res) */
    SIM_T_LOC,       /* sought communes and housing (v_loc) */
    SIM_T_MOTIF,     /* motives of the demand (v_house) */
    SIM_T_GEO,       /* a department's main commune and EPCIs (seeded by the department) */
    SIM_T_DALO,
    SIM_T_KEY,  /* keys of keyed items */
    SIM_T_ITEM, /* dates and content of keyed items */
    SIM_T_DRM,
    SIM_T_COTA,
    SIM_T_RAD /* sub-motive of a radiation */
};

#define SIM_MAX_COMMUNES 8 /* sought by a demand */

/* Two draws from one generator never share an expression: C leaves unspecified the order in
 * which function arguments and the operands of + are evaluated, and the order of draws is part of
 * what a seed renders. Each draw is a statement (or sequenced by ?:, && or ||) of its own, in the
 * order GCC evaluated them when the draws still shared expressions. */

/* A word drawn from a list (sim_words.h) with generator r. */
#define SIM_PICK(r, words) (words).v[sim_rng_below((r), (words).n)]

typedef struct sim_ident {
    int female;
    const char *nom, *nom2, *prenom; /* static (word lists); nom2 NULL when single */
    int32_t birth;                   /* day */
    char nir[16];                    /* "" when the applicant has none */
    int nat;                         /* nationality code 1..3 */
} sim_ident;

/* The identity flags of a new demand's record (SIM_F_NIR, SIM_F_NIR_TEMP, SIM_F_DRM). */
void sim_demand_identity_flags(uint64_t seed, uint8_t *flags);
/* The applicant's identity, a function of the seed and flags only (it never changes). */
void sim_ident_of(const sim_demand *d, sim_ident *id);
/* A NIR with a valid key (2A is 19, 2B is 18 in the key), drawn from r: sex (7/8 when
 * temporary), birth year and month, a place of birth. */
void sim_nir_make(sim_rng *r, int female, int32_t birth, int temp, char out[16]);
/* The applicant's surname as written: "NOM" or "NOM-NOM2". */
void sim_ident_surname(const sim_ident *id, char *out, size_t n);
/* A name in lower-case ASCII for e-mail addresses ("Éloïse" gives "eloise"). */
void sim_ascii_lower(const char *s, char *out, size_t n);

/* The sought communes (INSEE codes), in document order; returns their count (1..8). */
int sim_demand_communes(const sim_demand *d, char codes[SIM_MAX_COMMUNES][6]);
/* The same as numbers 1..communes in the demand's department. */
int sim_sought_communes(const sim_demand *d, int ks[SIM_MAX_COMMUNES]);
/* The EPCI (9 digits, SIREN-like) of commune k of department di, and whether it has a scoring
 * model. */
void sim_commune_epci(int di, int k, char out[10], int *has_model);

#endif
