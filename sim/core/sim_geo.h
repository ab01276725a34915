/* sim_geo.h: the geography of the simulated register: departments (data/departments.def), the
 * synthetic numbering of their communes, and the contract's rules on codes (README §5).
 *
 * Everything here is read-only after the first call and thread-safe. */
#ifndef SIM_GEO_H
#define SIM_GEO_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_dept {
    char code[4];      /* "38", "2A", "974" */
    uint16_t weight;   /* relative share of demands */
    uint16_t communes; /* communes numbered 1..communes */
} sim_dept;

/* The departments, in the order of data/departments.def (a demand stores its index). */
extern const sim_dept sim_depts[];
extern const size_t sim_n_depts;

/* Index of a department code, or -1. */
int sim_dept_find(const char *code);
/* A department index drawn by weight from a uniform 32-bit value. */
int sim_dept_pick(uint32_t u);
/* INSEE code (5 chars + NUL) of commune k (1-based) of department index di. */
void sim_commune_code(int di, int k, char out[6]);

/* 1 when `s` is a department code of the contract: 2 digits, 2A, 2B, or 971..976. */
int sim_is_dept_code(const char *s);
/* 1 when `s` is an INSEE commune code: 5 digits, or 2A/2B and 3 digits. */
int sim_is_commune_code(const char *s);
/* The department of an INSEE commune code (contract §5): its first 2 characters, 3 for 97x. */
void sim_commune_dept(const char *insee, char out[4]);
/* The department at the head of a numUnique (3 characters, a leading 0 dropped): "075..." is 75,
 * "02A..." is 2A, "971..." is 971. */
void sim_numunique_dept(const char num[18], char out[4]);

#endif
