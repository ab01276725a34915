/* sim_draw.c: see sim_draw.h. All content is synthetic: names are drawn from lists of common
 * French names, numbers (NIR) are random with valid shapes. */
#include "sim_draw.h"

#include <stdio.h>
#include <string.h>

#include "sim_words.h"
#include "core/sim_geo.h"

void sim_demand_identity_flags(uint64_t seed, uint8_t *flags)
{
    uint64_t h = sim_h(seed, SIM_T_IDENT * 1000 + 7);
    uint32_t p = sim_below(h, 1000);
    *flags = 0;
    if (p < 930) {
        *flags |= SIM_F_NIR;
        if (p >= 890)
            *flags |= SIM_F_NIR_TEMP;
        else if (sim_below(sim_mix64(h), 100) < 92)
            *flags |= SIM_F_DRM;
    }
}

/* The place of birth of a NIR: department (2 characters) and commune, or 99 and a country. */
static void nir_place(sim_rng *r, char dep[3], int *com)
{
    uint32_t place = sim_rng_below(r, 100);
    if (place < 72) {
        int di;
        do {
            di = sim_dept_pick((uint32_t)sim_rng_next(r));
        } while (sim_depts[di].code[2]);
        memcpy(dep, sim_depts[di].code, 2);
        *com = 1 + (int)sim_rng_below(r, sim_depts[di].communes > 99 ? sim_depts[di].communes : 99);
    } else if (place < 78) {
        memcpy(dep, "97", 2);
        int island = (int)sim_rng_below(r, 4);
        *com = 100 * (1 + island) + 1 + (int)sim_rng_below(r, 30);
    } else {
        memcpy(dep, "99", 2);
        *com = 100 + (int)sim_rng_below(r, 300); /* country code */
    }
    dep[2] = 0;
}

void sim_nir_make(sim_rng *r, int female, int32_t birth, int temp, char out[16])
{
    int y, m, d, com;
    char body[40], dep[3];
    sim_civil_from_days(birth, &y, &m, &d);
    int sex = temp ? (female ? 8 : 7) : (female ? 2 : 1);
    nir_place(r, dep, &com);
    snprintf(body, sizeof body, "%d%02d%02d%s%03d%03d", sex, y % 100, m, dep, com,
             1 + (int)sim_rng_below(r, 999));
    uint64_t num = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 5 && body[5] == '2' && (body[6] == 'A' || body[6] == 'B')) {
            num = num * 100 + (body[6] == 'A' ? 19 : 18);
            i++;
            continue;
        }
        num = num * 10 + (uint64_t)(body[i] - '0');
    }
    int key = 97 - (int)(num % 97);
    memcpy(out, body, 13);
    out[13] = (char)('0' + key / 10);
    out[14] = (char)('0' + key % 10);
    out[15] = 0;
}

void sim_ident_of(const sim_demand *dm, sim_ident *id)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed, SIM_T_IDENT));
    id->female = sim_rng_below(&r, 100) < 58;
    id->nom = SIM_PICK(&r, sim_last_names);
    id->nom2 = sim_rng_below(&r, 100) < 8 ? SIM_PICK(&r, sim_last_names) : NULL;
    id->prenom =
        id->female ? SIM_PICK(&r, sim_female_first_names) : SIM_PICK(&r, sim_male_first_names);
    /* age at creation: 18..85, mostly 25..55 */
    uint32_t a1 = sim_rng_below(&r, 40), a2 = sim_rng_below(&r, 40), a3 = sim_rng_below(&r, 30);
    uint32_t a = 18 + (a1 + a2 + a3) * 2 / 3;
    if (a > 85)
        a = 85;
    id->birth = dm->created - (int32_t)(a * 365 + sim_rng_below(&r, 365));
    id->nir[0] = 0;
    uint32_t natp = sim_rng_below(&r, 100);
    id->nat = natp < 80 ? 1 : natp < 88 ? 2 : 3;
    if (dm->flags & SIM_F_NIR)
        sim_nir_make(&r, id->female, id->birth, (dm->flags & SIM_F_NIR_TEMP) != 0, id->nir);
}

void sim_ident_surname(const sim_ident *id, char *out, size_t n)
{
    if (id->nom2 && id->nom2 != id->nom)
        snprintf(out, n, "%s-%s", id->nom, id->nom2);
    else
        snprintf(out, n, "%s", id->nom);
}

/* The ASCII letter of the Latin-1 supplement letter whose UTF-8 second byte is b (after C3). */
static char latin1_base(unsigned b)
{
    unsigned x = b | 0x20; /* upper to lower case */
    if (x >= 0xA0 && x <= 0xA6)
        return 'a';
    if (x == 0xA7)
        return 'c';
    if (x >= 0xAC && x <= 0xAF)
        return 'i';
    if (x >= 0xB2 && x <= 0xB6)
        return 'o';
    if (x >= 0xB9 && x <= 0xBC)
        return 'u';
    return 'e';
}

void sim_ascii_lower(const char *s, char *o, size_t n)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < n; p++) {
        unsigned c = *p;
        if (c >= 'A' && c <= 'Z')
            o[k++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            o[k++] = (char)c;
        else if (c == 0xC3 && p[1])
            o[k++] = latin1_base(*++p);
        else if (c == '-' || c == ' ')
            o[k++] = '-';
    }
    o[k] = 0;
}

/* A commune near `center` (within 20 either side, wrapping around the department's nc). */
static int draw_near(sim_rng *r, int center, int nc)
{
    int spread = nc < 40 ? nc : 40;
    int k = center + (int)sim_rng_below(r, (uint32_t)spread) - spread / 2;
    if (k < 1)
        k += nc;
    if (k > nc)
        k -= nc;
    if (k < 1 || k > nc)
        k = 1 + (int)sim_rng_below(r, (uint32_t)nc);
    return k;
}

/* 1 when k is among ks[0..i) and the draw may still be redone (8 redraws at most). */
static int taken(const int *ks, int i, int k, int *tries)
{
    for (int j = 0; j < i; j++)
        if (ks[j] == k && (*tries)++ < 8)
            return 1;
    return 0;
}

int sim_sought_communes(const sim_demand *d, int ks[SIM_MAX_COMMUNES])
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(d->seed, SIM_T_LOC * 256 + d->v_loc));
    int nc = sim_depts[d->dept].communes;
    uint32_t p = sim_rng_below(&r, 100);
    int n = p < 30   ? 1
            : p < 52 ? 2
            : p < 68 ? 3
            : p < 80 ? 4
            : p < 88 ? 5
            : p < 93 ? 6
            : p < 97 ? 7
                     : 8;
    if (n > nc)
        n = nc;
    /* the prefecture-like commune of the department draws a third of the wishes */
    int pref = 1 + (int)sim_below(sim_h(d->dept, SIM_T_GEO), (uint32_t)nc);
    int center = sim_rng_below(&r, 100) < 35 ? pref : 1 + (int)sim_rng_below(&r, (uint32_t)nc);
    for (int i = 0; i < n; i++) {
        int k = center, tries = 0;
        if (i > 0)
            do
                k = draw_near(&r, center, nc);
            while (taken(ks, i, k, &tries));
        ks[i] = k;
    }
    return n;
}

int sim_demand_communes(const sim_demand *d, char codes[SIM_MAX_COMMUNES][6])
{
    int ks[SIM_MAX_COMMUNES];
    int n = sim_sought_communes(d, ks);
    for (int i = 0; i < n; i++)
        sim_commune_code(d->dept, ks[i], codes[i]);
    return n;
}

void sim_commune_epci(int di, int k, char out[10], int *has_model)
{
    int nc = sim_depts[di].communes;
    int ne = 2 + (int)sim_below(sim_h(di, SIM_T_GEO + 100), 9);
    int span = (nc + ne - 1) / ne;
    int e = (k - 1) / (span ? span : 1);
    uint64_t h = sim_h((uint64_t)di * 64 + (uint64_t)e, SIM_T_GEO + 200);
    const char *c = sim_depts[di].code;
    char dep2[3] = {c[0], c[1] == 'A' || c[1] == 'B' ? '0' : c[1], 0};
    snprintf(out, 10, "2%s%06u", dep2, (unsigned)(h % 1000000));
    *has_model = sim_below(sim_mix64(h), 100) < 75;
}
