/* sim_geo.c: see sim_geo.h. */
#include "sim_geo.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The codes are real, the commune numbering synthetic (sim_commune_code()). */
const sim_dept sim_depts[] = {
#define SIM_DEPARTMENT(code, weight, communes) {code, weight, communes},
#include "data/departments.def"
#undef SIM_DEPARTMENT
};
const size_t sim_n_depts = sizeof sim_depts / sizeof sim_depts[0];

/* Cumulated weights for sim_dept_pick(), computed once. */
static uint32_t dept_cum[sizeof sim_depts / sizeof sim_depts[0]];
static uint32_t dept_total;
static pthread_once_t dept_once = PTHREAD_ONCE_INIT;

static void dept_init_once(void)
{
    uint32_t c = 0;
    for (size_t i = 0; i < sim_n_depts; i++) {
        c += sim_depts[i].weight;
        dept_cum[i] = c;
    }
    dept_total = c;
}

int sim_dept_pick(uint32_t u)
{
    pthread_once(&dept_once, dept_init_once);
    uint32_t x = (uint32_t)(((uint64_t)u * dept_total) >> 32);
    size_t lo = 0, hi = sim_n_depts - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dept_cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int)lo;
}

int sim_dept_find(const char *code)
{
    for (size_t i = 0; i < sim_n_depts; i++)
        if (strcmp(sim_depts[i].code, code) == 0)
            return (int)i;
    return -1;
}

void sim_commune_code(int di, int k, char out[6])
{
    const char *c = sim_depts[di].code;
    char t[32];
    k %= 1000;
    if (strcmp(c, "75") == 0) {
        snprintf(t, sizeof t, "751%02d", k % 100); /* arrondissements */
    } else if (c[2]) {
        snprintf(t, sizeof t, "%s%02d", c, k % 100);
    } else if (strcmp(c, "92") == 0 || strcmp(c, "93") == 0 || strcmp(c, "94") == 0) {
        snprintf(t, sizeof t, "%s%03d", c,
                 2 * k % 1000); /* sparse numbering, as in the inner suburbs */
    } else {
        snprintf(t, sizeof t, "%s%03d", c, k);
    }
    memcpy(out, t, 5);
    out[5] = 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_corsica(const char *s)
{
    return s[0] == '2' && (s[1] == 'A' || s[1] == 'B');
}

int sim_is_dept_code(const char *s)
{
    size_t n = strlen(s);
    if (n == 2)
        return (is_digit(s[0]) && is_digit(s[1])) || is_corsica(s);
    return n == 3 && s[0] == '9' && s[1] == '7' && s[2] >= '1' && s[2] <= '6';
}

int sim_is_commune_code(const char *s)
{
    if (strlen(s) != 5)
        return 0;
    for (int i = is_corsica(s) ? 2 : 0; i < 5; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

void sim_commune_dept(const char *insee, char out[4])
{
    out[0] = insee[0];
    out[1] = insee[1];
    out[2] = (insee[0] == '9' && insee[1] == '7') ? insee[2] : 0;
    out[3] = 0;
}

void sim_numunique_dept(const char num[18], char out[4])
{
    const char *p = num[0] == '0' ? num + 1 : num;
    size_t n = num[0] == '0' ? 2 : 3;
    memcpy(out, p, n);
    out[n] = 0;
}
