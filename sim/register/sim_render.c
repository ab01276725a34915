/* sim_render.c: see sim_render.h. All content is synthetic: names are drawn from lists of common
 * French names, numbers (NIR, phones, amounts) are random with valid shapes. */
#include "sim_render.h"
#include "sim_words.h"
#include "core/sim_geo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- low-level writers ---------------------------------------------------------------------- */

static const char spaces[] = "                                                ";

static inline void ind(sim_buf *b, int lvl)
{
    sim_buf_put(b, spaces, (size_t)(2 * lvl));
}

static inline void open_el(sim_buf *b, int lvl, const char *name)
{
    ind(b, lvl);
    SIM_PUTS(b, "<ns1:");
    sim_buf_put(b, name, strlen(name));
    SIM_PUTS(b, ">\n");
}

static inline void close_el(sim_buf *b, int lvl, const char *name)
{
    ind(b, lvl);
    SIM_PUTS(b, "</ns1:");
    sim_buf_put(b, name, strlen(name));
    SIM_PUTS(b, ">\n");
}

static inline void start_leaf(sim_buf *b, int lvl, const char *name, size_t nl)
{
    ind(b, lvl);
    SIM_PUTS(b, "<ns1:");
    sim_buf_put(b, name, nl);
    SIM_PUTS(b, ">");
}

static inline void end_leaf(sim_buf *b, const char *name, size_t nl)
{
    SIM_PUTS(b, "</ns1:");
    sim_buf_put(b, name, nl);
    SIM_PUTS(b, ">\n");
}

static void el_raw(sim_buf *b, int lvl, const char *name, const char *s, size_t n)
{
    size_t nl = strlen(name);
    start_leaf(b, lvl, name, nl);
    sim_buf_put(b, s, n);
    end_leaf(b, name, nl);
}

static void put_escaped(sim_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        size_t rl = 0;
        switch (*s) {
        case '&':
            rep = "&amp;", rl = 5;
            break;
        case '<':
            rep = "&lt;", rl = 4;
            break;
        case '>':
            rep = "&gt;", rl = 4;
            break;
        default:
            continue;
        }
        sim_buf_put(b, run, (size_t)(s - run));
        sim_buf_put(b, rep, rl);
        run = s + 1;
    }
    sim_buf_put(b, run, (size_t)(s - run));
}

static void el_text(sim_buf *b, int lvl, const char *name, const char *s)
{
    size_t nl = strlen(name);
    start_leaf(b, lvl, name, nl);
    put_escaped(b, s);
    end_leaf(b, name, nl);
}

static void el_code(sim_buf *b, int lvl, const char *name, const char *code)
{
    ind(b, lvl);
    SIM_PUTS(b, "<ns1:");
    sim_buf_put(b, name, strlen(name));
    SIM_PUTS(b, " code=\"");
    sim_buf_put(b, code, strlen(code));
    SIM_PUTS(b, "\"/>\n");
}

static int fmt_u64(char *o, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return n;
}

static void el_uint(sim_buf *b, int lvl, const char *name, uint64_t v)
{
    char t[24];
    el_raw(b, lvl, name, t, (size_t)fmt_u64(t, v));
}

/* cents as "1234.56" */
static int fmt_cents(char *o, uint64_t cents)
{
    int n = fmt_u64(o, cents / 100);
    o[n++] = '.';
    o[n++] = (char)('0' + cents / 10 % 10);
    o[n++] = (char)('0' + cents % 10);
    return n;
}

static void el_cents(sim_buf *b, int lvl, const char *name, uint64_t cents)
{
    char t[32];
    el_raw(b, lvl, name, t, (size_t)fmt_cents(t, cents));
}

/* tenths as "123.4" */
static void el_tenths(sim_buf *b, int lvl, const char *name, uint64_t tenths)
{
    char t[32];
    int n = fmt_u64(t, tenths / 10);
    t[n++] = '.';
    t[n++] = (char)('0' + tenths % 10);
    el_raw(b, lvl, name, t, (size_t)n);
}

static void el_day(sim_buf *b, int lvl, const char *name, int32_t day)
{
    char t[16];
    el_raw(b, lvl, name, t, (size_t)sim_fmt_day(day, t));
}

static void el_dt(sim_buf *b, int lvl, const char *name, uint32_t minute, int millis)
{
    char t[40];
    el_raw(b, lvl, name, t, (size_t)sim_fmt_paris((int64_t)minute * 60, millis, t));
}

static void el_bool(sim_buf *b, int lvl, const char *name, int v)
{
    if (v)
        el_raw(b, lvl, name, "true", 4);
    else
        el_raw(b, lvl, name, "false", 5);
}

static void hex(char *o, uint64_t v, int digits, int upper)
{
    const char *h = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        o[i] = h[v & 15];
        v >>= 4;
    }
    o[digits] = 0;
}

/* A bijection on the low `bits` bits: distinct inputs give distinct identifiers. */
static uint64_t bij(uint64_t x, int bits)
{
    uint64_t m = bits == 64 ? ~0ull : ((1ull << bits) - 1);
    x &= m;
    for (int r = 0; r < 3; r++) {
        x = (x * 0x9E3779B97F4A7C15ull) & m; /* odd multiplier: bijective mod 2^bits */
        x ^= x >> (bits / 2 + 1);
    }
    return x;
}

static inline uint32_t rb(sim_rng *r, uint32_t n)
{
    return sim_rng_below(r, n);
}

#define PICK(r, words) (words).v[rb((r), (words).n)]

/* ---- identity ------------------------------------------------------------------------------- */

enum {
    T_IDENT = 1,
    T_CONTACT,
    T_HOUSE,
    T_RES,
    T_LOC,
    T_MOTIF,
    T_GEO,
    T_DALO,
    T_KEY,
    T_ITEM,
    T_DRM,
    T_COTA,
    T_RAD
};

typedef struct ident {
    int female;
    const char *nom, *nom2, *prenom;
    int32_t birth;
    char nir[16];
    int nat;
} ident;

static void mk_nir(sim_rng *r, int female, int32_t birth, int temp, char out[16])
{
    int y, m, d;
    sim_civil_from_days(birth, &y, &m, &d);
    char body[40];
    int sex = temp ? (female ? 8 : 7) : (female ? 2 : 1);
    uint32_t place = rb(r, 100);
    char dep[3];
    int com;
    if (place < 72) {
        int di;
        do {
            di = sim_dept_pick((uint32_t)sim_rng_next(r));
        } while (sim_depts[di].code[2]);
        memcpy(dep, sim_depts[di].code, 2);
        com = 1 + (int)rb(r, sim_depts[di].communes > 99 ? sim_depts[di].communes : 99);
    } else if (place < 78) {
        memcpy(dep, "97", 2);
        com = 100 * (1 + (int)rb(r, 4)) + 1 + (int)rb(r, 30);
    } else {
        memcpy(dep, "99", 2);
        com = 100 + (int)rb(r, 300); /* country code */
    }
    dep[2] = 0;
    snprintf(body, sizeof body, "%d%02d%02d%s%03d%03d", sex, y % 100, m, dep, com,
             1 + (int)rb(r, 999));
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

static void get_ident(const sim_demand *dm, ident *id)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed, T_IDENT));
    id->female = rb(&r, 100) < 58;
    id->nom = PICK(&r, sim_last_names);
    id->nom2 = rb(&r, 100) < 8 ? PICK(&r, sim_last_names) : NULL;
    id->prenom = id->female ? PICK(&r, sim_female_first_names) : PICK(&r, sim_male_first_names);
    /* age at creation: 18..85, mostly 25..55 */
    uint32_t a = 18 + (rb(&r, 40) + rb(&r, 40) + rb(&r, 30)) * 2 / 3;
    if (a > 85)
        a = 85;
    id->birth = dm->created - (int32_t)(a * 365 + rb(&r, 365));
    id->nir[0] = 0;
    uint32_t natp = rb(&r, 100);
    id->nat = natp < 80 ? 1 : natp < 88 ? 2 : 3;
    if (dm->flags & SIM_F_NIR)
        mk_nir(&r, id->female, id->birth, (dm->flags & SIM_F_NIR_TEMP) != 0, id->nir);
}

void sim_demand_identity_flags(uint64_t seed, uint8_t *flags)
{
    uint64_t h = sim_h(seed, T_IDENT * 1000 + 7);
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

static void full_nom(const ident *id, char *out, size_t n)
{
    if (id->nom2 && id->nom2 != id->nom)
        snprintf(out, n, "%s-%s", id->nom, id->nom2);
    else
        snprintf(out, n, "%s", id->nom);
}

/* lower-case ASCII rendering of a name for e-mail addresses */
static void ascii_lower(const char *s, char *o, size_t n)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < n; p++) {
        unsigned c = *p;
        if (c >= 'A' && c <= 'Z')
            o[k++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            o[k++] = (char)c;
        else if (c == 0xC3 && p[1]) {
            unsigned x = p[1] | 0x20;
            p++;
            char m = 'e';
            if (x >= 0xA0 && x <= 0xA6)
                m = 'a';
            else if (x == 0xA7)
                m = 'c';
            else if (x >= 0xA8 && x <= 0xAB)
                m = 'e';
            else if (x >= 0xAC && x <= 0xAF)
                m = 'i';
            else if (x >= 0xB2 && x <= 0xB6)
                m = 'o';
            else if (x >= 0xB9 && x <= 0xBC)
                m = 'u';
            o[k++] = m;
        } else if (c == '-' || c == ' ') {
            o[k++] = '-';
        }
    }
    o[k] = 0;
}

/* ---- geography of a demand ------------------------------------------------------------------ */

static int communes_k(const sim_demand *d, int ks[SIM_MAX_COMMUNES])
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(d->seed, T_LOC * 256 + d->v_loc));
    const sim_dept *dp = &sim_depts[d->dept];
    int nc = dp->communes;
    uint32_t p = rb(&r, 100);
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
    int pref = 1 + (int)sim_below(sim_h(d->dept, T_GEO), (uint32_t)nc);
    int center = rb(&r, 100) < 35 ? pref : 1 + (int)rb(&r, (uint32_t)nc);
    for (int i = 0; i < n; i++) {
        int k, tries = 0;
    again:
        if (i == 0)
            k = center;
        else {
            int spread = nc < 40 ? nc : 40;
            k = center + (int)rb(&r, (uint32_t)spread) - spread / 2;
            if (k < 1)
                k += nc;
            if (k > nc)
                k -= nc;
            if (k < 1 || k > nc)
                k = 1 + (int)rb(&r, (uint32_t)nc);
        }
        for (int j = 0; j < i; j++)
            if (ks[j] == k && tries++ < 8)
                goto again;
        ks[i] = k;
    }
    return n;
}

int sim_demand_communes(const sim_demand *d, char codes[SIM_MAX_COMMUNES][6])
{
    int ks[SIM_MAX_COMMUNES];
    int n = communes_k(d, ks);
    for (int i = 0; i < n; i++)
        sim_commune_code(d->dept, ks[i], codes[i]);
    return n;
}

/* EPCI (9-digit SIREN-like) of a commune, and whether it has a scoring model. */
static void epci_of(int di, int k, char out[10], int *has_model)
{
    int nc = sim_depts[di].communes;
    int ne = 2 + (int)sim_below(sim_h(di, T_GEO + 100), 9);
    int span = (nc + ne - 1) / ne;
    int e = (k - 1) / (span ? span : 1);
    uint64_t h = sim_h((uint64_t)di * 64 + (uint64_t)e, T_GEO + 200);
    const char *c = sim_depts[di].code;
    char dep2[3] = {c[0], c[1] == 'A' || c[1] == 'B' ? '0' : c[1], 0};
    snprintf(out, 10, "2%s%06u", dep2, (unsigned)(h % 1000000));
    *has_model = sim_below(sim_mix64(h), 100) < 75;
}

/* ---- CERFA ---------------------------------------------------------------------------------- */

static void ressources(sim_buf *b, int lvl, const char *list, sim_rng *r, int n)
{
    if (n <= 0)
        return;
    open_el(b, lvl, list);
    for (int i = 0; i < n; i++) {
        open_el(b, lvl + 1, "detailRessource");
        el_code(b, lvl + 2, "ressource", PICK(r, sim_resource_codes));
        el_cents(b, lvl + 2, "montant", 5000 + rb(r, 280000));
        close_el(b, lvl + 1, "detailRessource");
    }
    close_el(b, lvl, list);
}

static void identite(sim_buf *b, int lvl, const char *civ, const char *nom, const char *nom_usage,
                     const char *prenom, int32_t birth, const char *nir, int nat,
                     const char *sitfam)
{
    el_code(b, lvl, "civilite", civ);
    el_text(b, lvl, "nom", nom);
    if (nom_usage)
        el_text(b, lvl, "nomUsage", nom_usage);
    el_text(b, lvl, "prenom", prenom);
    el_day(b, lvl, "dateNaissance", birth);
    if (nir && nir[0])
        el_raw(b, lvl, "nir", nir, strlen(nir));
    char t[4];
    snprintf(t, sizeof t, "%d", nat);
    el_code(b, lvl, "nationalite", t);
    if (sitfam)
        el_code(b, lvl, "situationFamiliale", sitfam);
}

static void sit_pro(sim_buf *b, int lvl, sim_rng *r, int di)
{
    uint32_t p = rb(r, 100);
    if (p < 20)
        return;
    open_el(b, lvl, "situationProfessionnelle");
    el_text(b, lvl + 1, "profession", PICK(r, sim_professions));
    el_code(b, lvl + 1, "typeContratTravail", PICK(r, sim_work_contracts));
    if (p < 70) {
        el_text(b, lvl + 1, "nomEmployeurPrincipal", PICK(r, sim_employers));
        char code[6];
        sim_commune_code(di, 1 + (int)rb(r, sim_depts[di].communes), code);
        char cp[6];
        memcpy(cp, code, 3);
        snprintf(cp + 3, 3, "%02u", rb(r, 10) * 10);
        el_raw(b, lvl + 1, "codePostal", cp, 5);
        el_code(b, lvl + 1, "commune", code);
    }
    close_el(b, lvl, "situationProfessionnelle");
}

static void revenu(sim_buf *b, int lvl, sim_rng *r, int year)
{
    if (rb(r, 100) < 10)
        return;
    open_el(b, lvl, "revenuFiscal");
    el_uint(b, lvl + 1, "anneeMoins1", (uint64_t)(year - 1));
    el_uint(b, lvl + 1, "montantMoins1", rb(r, 42000));
    if (rb(r, 100) < 80) {
        el_uint(b, lvl + 1, "anneeMoins2", (uint64_t)(year - 2));
        el_uint(b, lvl + 1, "montantMoins2", rb(r, 40000));
    }
    close_el(b, lvl, "revenuFiscal");
}

static int32_t add_years(int32_t day, int years)
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return sim_days_from_civil(y + years, m, d);
}

static void render_cerfa(sim_buf *b, const sim_view *v)
{
    const sim_demand *dm = v->d;
    ident id;
    get_ident(dm, &id);
    char nom[128];
    full_nom(&id, nom, sizeof nom);
    int L = 2;
    open_el(b, L, "cerfa");
    el_raw(b, L + 1, "numGuichet", dm->num + 13, 5);
    el_day(b, L + 1, "dateCreationDemande", dm->created);
    int32_t renew = dm->renew_n ? add_years(dm->created, dm->renew_n) : dm->created;
    if (dm->renew_n)
        el_day(b, L + 1, "dateRenouvellement", renew);
    open_el(b, L + 1, "personnePhysique");

    /* household first: the applicant's marital status lives there */
    sim_rng rh;
    sim_rng_seed(&rh, sim_h(dm->seed, T_HOUSE * 256 + dm->v_house));
    const char *sf = PICK(&rh, sim_family_situations);
    int couple = sf[0] == 'M' || sf[0] == 'P' || sf[0] == 'U';
    uint32_t pc = rb(&rh, 100);
    int nkids = pc < 45 ? 0 : pc < 65 ? 1 : pc < 82 ? 2 : pc < 92 ? 3 : pc < 97 ? 4 : 5;

    /* applicant */
    open_el(b, L + 2, "demandeur");
    sim_rng rc;
    sim_rng_seed(&rc, sim_h(dm->seed, T_CONTACT * 256 + dm->v_ident));
    const char *usage =
        (id.female && couple && rb(&rc, 100) < 30) ? PICK(&rc, sim_last_names) : NULL;
    identite(b, L + 3, id.female ? "2" : "1", nom, usage, id.prenom, id.birth, id.nir, id.nat,
             rb(&rc, 100) < 95 ? sf : NULL);
    if (rb(&rc, 100) < 92) {
        char tel[12];
        snprintf(tel, sizeof tel, "0%u%08u", 6 + rb(&rc, 2), rb(&rc, 100000000));
        el_raw(b, L + 3, "telPortable", tel, 10);
    }
    if (rb(&rc, 100) < 80) {
        char a1[64], a2[64], mel[160];
        ascii_lower(id.prenom, a1, sizeof a1);
        ascii_lower(id.nom, a2, sizeof a2);
        snprintf(mel, sizeof mel, "%s.%s%u@%s", a1, a2, rb(&rc, 100), PICK(&rc, sim_mail_domains));
        el_text(b, L + 3, "mel", mel);
    }
    if (rb(&rc, 100) < 90) {
        open_el(b, L + 3, "adressePostale");
        el_bool(b, L + 4, "etranger", 0);
        char t[16];
        snprintf(t, sizeof t, "%u%s", 1 + rb(&rc, 250), rb(&rc, 100) < 8 ? " bis" : "");
        el_text(b, L + 4, "numero", t);
        el_text(b, L + 4, "voie", PICK(&rc, sim_streets));
        if (rb(&rc, 100) < 25)
            el_text(b, L + 4, "complement", PICK(&rc, sim_address_complements));
        int di = rb(&rc, 100) < 85 ? dm->dept : sim_dept_pick((uint32_t)sim_rng_next(&rc));
        char code[6], cp[6];
        sim_commune_code(di, 1 + (int)rb(&rc, sim_depts[di].communes), code);
        memcpy(cp, code, 3);
        snprintf(cp + 3, 3, "%02u", rb(&rc, 10) * 10);
        if (code[1] == 'A' || code[1] == 'B')
            cp[0] = '2', cp[1] = '0';
        el_raw(b, L + 4, "codePostal", cp, 5);
        el_code(b, L + 4, "commune", code);
        close_el(b, L + 3, "adressePostale");
    }
    sim_rng rr;
    sim_rng_seed(&rr, sim_h(dm->seed, T_RES * 256 + dm->v_res));
    int ry, rm, rd;
    sim_civil_from_days(renew, &ry, &rm, &rd);
    sit_pro(b, L + 3, &rr, dm->dept);
    revenu(b, L + 3, &rr, ry);
    uint32_t nr = rb(&rr, 100);
    ressources(b, L + 3, "listeRessourceRecue", &rr,
               nr < 15   ? 0
               : nr < 55 ? 1
               : nr < 80 ? 2
               : nr < 93 ? 3
                         : 4);
    ressources(b, L + 3, "listeRessourceVersee", &rr, rb(&rr, 100) < 5 ? 1 : 0);
    close_el(b, L + 2, "demandeur");

    int nb_hab = 1;
    if (nkids) {
        open_el(b, L + 2, "listePersonneACharge");
        for (int i = 0; i < nkids; i++) {
            int f = rb(&rh, 2);
            open_el(b, L + 3, "personneACharge");
            el_text(b, L + 4, "nom", nom);
            el_text(b, L + 4, "prenom",
                    f ? PICK(&rh, sim_female_first_names) : PICK(&rh, sim_male_first_names));
            el_day(b, L + 4, "dateNaissance", dm->created - (int32_t)rb(&rh, 17 * 365) + 300);
            el_code(b, L + 4, "sexe", f ? "F" : "M");
            el_code(b, L + 4, "lienParente", rb(&rh, 100) < 94 ? "E" : "A");
            close_el(b, L + 3, "personneACharge");
        }
        close_el(b, L + 2, "listePersonneACharge");
        nb_hab += nkids;
    }
    if (rb(&rh, 100) < 4) {
        open_el(b, L + 2, "personneANaitre");
        el_uint(b, L + 3, "nombre", rb(&rh, 100) < 97 ? 1 : 2);
        el_day(b, L + 3, "dateNaissancePrevue", dm->created + 30 + (int32_t)rb(&rh, 240));
        close_el(b, L + 2, "personneANaitre");
    }
    if (couple && rb(&rh, 100) < 75) {
        int f = !id.female;
        if (rb(&rh, 100) < 6)
            f = id.female;
        open_el(b, L + 2, "listeCotitulaire");
        open_el(b, L + 3, "cotitulaire");
        char cnir[16] = "";
        int32_t cb = id.birth + (int32_t)rb(&rh, 3650) - 1825;
        if (rb(&rh, 100) < 80)
            mk_nir(&rh, f, cb, 0, cnir);
        identite(b, L + 4, f ? "2" : "1", rb(&rh, 100) < 60 ? nom : PICK(&rh, sim_last_names), NULL,
                 f ? PICK(&rh, sim_female_first_names) : PICK(&rh, sim_male_first_names), cb, cnir,
                 rb(&rh, 100) < 85 ? 1 : 3, NULL);
        el_code(b, L + 4, "lienDemandeur", sf[0] == 'M' ? "C" : sf[0] == 'P' ? "P" : "U");
        sit_pro(b, L + 4, &rr, dm->dept);
        revenu(b, L + 4, &rr, ry);
        ressources(b, L + 4, "listeRessourceRecue", &rr, (int)rb(&rr, 3));
        close_el(b, L + 3, "cotitulaire");
        close_el(b, L + 2, "listeCotitulaire");
        nb_hab++;
    }
    if (rb(&rh, 100) < 93) {
        open_el(b, L + 2, "logementActuel");
        const char *mod = PICK(&rh, sim_housing_models);
        open_el(b, L + 3, "listeModeleLogement");
        el_code(b, L + 4, "modeleLogement", mod);
        close_el(b, L + 3, "listeModeleLogement");
        int pays = strcmp(mod, "LP") == 0 || strcmp(mod, "HLM") == 0 || strcmp(mod, "RS") == 0 ||
                   strcmp(mod, "FOY") == 0 || strcmp(mod, "HOTEL") == 0;
        if (pays)
            el_uint(b, L + 3, "montantMensuelLoyer", 180 + rb(&rh, 950));
        el_uint(b, L + 3, "nombreHabitant",
                (uint64_t)nb_hab + (rb(&rh, 100) < 15 ? rb(&rh, 4) : 0));
        if (rb(&rh, 100) < 40)
            el_code(b, L + 3, "categorieLogement", rb(&rh, 100) < 80 ? "APPART" : "MAISON");
        uint32_t rooms = 1 + rb(&rh, 5);
        char tl[4] = {'T', (char)('0' + rooms), 0};
        el_code(b, L + 3, "typeLogementActuel", tl);
        el_uint(b, L + 3, "surface", 9 + rooms * 14 + rb(&rh, 16));
        if (strcmp(mod, "PROP") == 0)
            el_bool(b, L + 3, "proprietaire", 1);
        close_el(b, L + 2, "logementActuel");
    }
    close_el(b, L + 1, "personnePhysique");

    sim_rng rm2;
    sim_rng_seed(&rm2, sim_h(dm->seed, T_MOTIF * 256 + dm->v_house));
    int nm = 1 + (rb(&rm2, 100) < 25) + (rb(&rm2, 100) < 8);
    open_el(b, L + 1, "listeMotifDemande");
    for (int i = 0; i < nm; i++) {
        char t[4];
        snprintf(t, sizeof t, "%02u", 1 + rb(&rm2, 25));
        el_code(b, L + 2, "motifDemande", t);
    }
    close_el(b, L + 1, "listeMotifDemande");

    open_el(b, L + 1, "logementRecherche");
    sim_rng rl;
    sim_rng_seed(&rl, sim_h(dm->seed, T_LOC * 256 + dm->v_loc + 77));
    el_bool(b, L + 2, "demandeElargie", rb(&rl, 100) < 40);
    open_el(b, L + 2, "listeTypeLogement");
    int base = nb_hab <= 1 ? 1 : nb_hab >= 5 ? 4 : nb_hab;
    int nt = 1 + (rb(&rl, 100) < 35);
    for (int i = 0; i < nt; i++) {
        char tl[4] = {'T', (char)('0' + (base + i > 6 ? 6 : base + i)), 0};
        el_code(b, L + 3, "typeLogement", tl);
    }
    close_el(b, L + 2, "listeTypeLogement");
    char codes[SIM_MAX_COMMUNES][6];
    int nc = sim_demand_communes(dm, codes);
    open_el(b, L + 2, "listeLocalisationSouhaitee");
    for (int i = 0; i < nc; i++) {
        open_el(b, L + 3, "localisationSouhaitee");
        el_code(b, L + 4, "commune", codes[i]);
        close_el(b, L + 3, "localisationSouhaitee");
    }
    close_el(b, L + 2, "listeLocalisationSouhaitee");
    if (rb(&rl, 100) < 45)
        el_cents(b, L + 2, "loyerMaximum", 25000 + rb(&rl, 70000));
    close_el(b, L + 1, "logementRecherche");

    if (dm->etat == SIM_ETAT_RADIEE) {
        open_el(b, L + 1, "radiation");
        el_code(b, L + 2, "motifRadiation",
                sim_radiation_motives.v[dm->rad_motif % sim_radiation_motives.n]);
        uint64_t h = sim_h(dm->seed, T_RAD);
        if (sim_below(h, 100) < 30) {
            char t[4];
            snprintf(t, sizeof t, "%02u", 1 + sim_below(sim_mix64(h), 12));
            el_code(b, L + 2, "sousMotifRadiation", t);
        }
        el_day(b, L + 2, "dateRadiation", dm->rad_day);
        close_el(b, L + 1, "radiation");
    }
    close_el(b, L, "cerfa");
}

/* ---- DALO ----------------------------------------------------------------------------------- */

static void render_dalo(sim_buf *b, const sim_view *v)
{
    const sim_demand *dm = v->d;
    if (!dm->dalo)
        return;
    int L = 2;
    open_el(b, L, "dalo");
    el_code(b, L + 1, "statutDalo", sim_dalo_statuses.v[dm->dalo % sim_dalo_statuses.n]);
    el_day(b, L + 1, "dateDecision", dm->dalo_day);
    el_raw(b, L + 1, "departementComed", sim_depts[dm->dept].code,
           strlen(sim_depts[dm->dept].code));
    uint64_t h = sim_h(dm->seed, T_DALO);
    if (dm->dalo >= 2 && sim_below(h, 100) < 80) {
        char tl[4] = {'T', (char)('1' + sim_below(sim_mix64(h), 5)), 0};
        el_code(b, L + 1, "typologieRecommandee", tl);
    }
    if (dm->dalo == 4)
        el_day(b, L + 1, "dateRelogement", dm->dalo_day2);
    close_el(b, L, "dalo");
}

/* ---- keyed entities ------------------------------------------------------------------------- */

/* Instant (minutes) of item idx of keyed entity k. */
static uint32_t item_minute(const sim_view *v, int k, int idx)
{
    const sim_demand *dm = v->d;
    if (idx >= dm->g[k]) {
        for (size_t i = 0; i < v->nj; i++)
            if (v->j[i].ent == k && v->j[i].idx == idx)
                return v->j[i].minute;
        return dm->lastmod; /* not reached with a consistent journal */
    }
    uint32_t lo = (uint32_t)dm->created * 1440u + 7 * 60;
    if (lo > dm->gen_hi)
        lo = dm->gen_hi; /* a demand made in the small hours */
    uint32_t hi = dm->gen_hi;
    uint64_t h = sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + k) * 256 + (uint64_t)idx);
    /* skew towards recent dates (max of two draws), during office hours (07:00-17:00 UTC) */
    uint32_t a = sim_below(h, hi - lo + 1), c = sim_below(sim_mix64(h), hi - lo + 1);
    uint32_t t = lo + (a > c ? a : c);
    uint32_t t2 = t / 1440 * 1440 + 7 * 60 + sim_below(sim_mix64(h ^ 0x5A5A), 10 * 60);
    return (t2 >= lo && t2 <= hi) ? t2 : t;
}

static void item_key(const sim_demand *dm, int k, int idx, char *out)
{
    uint64_t base = sim_h(dm->seed, (uint64_t)T_KEY * 16 + (uint64_t)k);
    switch (k) {
    case SIM_K_EVT:
        hex(out, bij(base + (uint64_t)idx, 48), 12, 1);
        break;
    case SIM_K_CONT:
    case SIM_K_PRIO:
        hex(out, bij(base + (uint64_t)idx, 32), 8, 1);
        break;
    case SIM_K_ATTRIB:
        memcpy(out, "CAL", 3);
        hex(out + 3, bij(base + (uint64_t)idx, 40), 10, 1);
        break;
    default:
        hex(out, bij(base + (uint64_t)idx, 64), 16, 1);
        break;
    }
}

static void guichet_auteur(sim_rng *r, const sim_demand *dm, char out[6])
{
    if (rb(r, 100) < 60)
        memcpy(out, dm->num + 13, 5);
    else
        snprintf(out, 6, "G%04u", 1000 + rb(r, 9000));
    out[5] = 0;
}

static void render_evt(sim_buf *b, const sim_demand *dm, uint32_t minute, int idx, const char *key)
{
    sim_rng r;
    sim_rng_seed(&r,
                 sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + SIM_K_EVT) * 256 + (uint64_t)idx + 9));
    int L = 3;
    open_el(b, L, "evenement");
    el_raw(b, L + 1, "idEvenement", key, strlen(key));
    el_code(b, L + 1, "typeEvenement", PICK(&r, sim_event_types));
    el_dt(b, L + 1, "dateEvenement", minute, 0);
    char g[6];
    guichet_auteur(&r, dm, g);
    el_raw(b, L + 1, "numGuichetAuteur", g, 5);
    if (rb(&r, 100) < 90) {
        char lib[320];
        const char *t = PICK(&r, sim_event_labels);
        uint32_t s = rb(&r, 100);
        if (s < 25) {
            snprintf(lib, sizeof lib, "%s (réf. %06u)", t, rb(&r, 1000000));
        } else if (s < 45) {
            char day[16];
            sim_fmt_day((int32_t)(minute / 1440), day);
            snprintf(lib, sizeof lib, "%s – suite à l'échange du %c%c/%c%c/%.4s", t, day[8], day[9],
                     day[5], day[6], day);
        } else if (s < 55) {
            ident id;
            get_ident(dm, &id);
            snprintf(lib, sizeof lib, "%s ; contact : %s %s", t, id.prenom, id.nom);
        } else {
            snprintf(lib, sizeof lib, "%s", t);
        }
        el_text(b, L + 1, "libelle", lib);
    }
    close_el(b, L, "evenement");
}

static void render_cont(sim_buf *b, const sim_demand *dm, uint32_t minute, int idx, const char *key)
{
    sim_rng r;
    sim_rng_seed(&r,
                 sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + SIM_K_CONT) * 256 + (uint64_t)idx + 9));
    int L = 3;
    open_el(b, L, "contingent");
    el_raw(b, L + 1, "idContingent", key, strlen(key));
    el_code(b, L + 1, "typeContingent", PICK(&r, sim_contingent_types));
    if (rb(&r, 100) < 75)
        el_text(b, L + 1, "reservataire", PICK(&r, sim_reservataires));
    el_day(b, L + 1, "dateEligibilite", (int32_t)(minute / 1440));
    close_el(b, L, "contingent");
}

static void render_attrib(sim_buf *b, const sim_demand *dm, uint32_t minute, int idx,
                          const char *key)
{
    sim_rng r;
    sim_rng_seed(&r,
                 sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + SIM_K_ATTRIB) * 256 + (uint64_t)idx + 9));
    int L = 3;
    int32_t day = (int32_t)(minute / 1440);
    open_el(b, L, "attribution");
    el_raw(b, L + 1, "idAttribution", key, strlen(key));
    el_day(b, L + 1, "dateCal", day);
    int signed_ = idx + 1 == dm->attrib_signed;
    uint32_t dp = rb(&r, 100);
    int dec = signed_ ? 0 : dp < 35 ? 0 : dp < 55 ? 1 : dp < 65 ? 2 : dp < 95 ? 3 : 4;
    el_code(b, L + 1, "decisionCal", sim_cal_decisions.v[dec]);
    if (dec == 1)
        el_uint(b, L + 1, "rang", 1 + rb(&r, 3));
    if (dec <= 2) {
        char t[32];
        snprintf(t, sizeof t, "RPLS-%s-%07u", sim_depts[dm->dept].code, rb(&r, 10000000));
        el_text(b, L + 1, "identifiantRpls", t);
        char tl[4] = {'T', (char)('1' + rb(&r, 5)), 0};
        el_code(b, L + 1, "typeLogement", tl);
        if (rb(&r, 100) < 20)
            el_code(b, L + 1, "accordCollectif", "ACD");
        el_bool(b, L + 1, "relogementDalo", dm->dalo >= 2 && rb(&r, 100) < 60);
        el_code(b, L + 1, "contingent", PICK(&r, sim_contingent_types));
        el_cents(b, L + 1, "loyer", 20000 + rb(&r, 60000));
        el_uint(b, L + 1, "surface", 20 + rb(&r, 80));
        if (signed_)
            el_day(b, L + 1, "dateSignatureBail", day + 15 + (int32_t)rb(&r, 30));
    }
    close_el(b, L, "attribution");
}

static void render_prio(sim_buf *b, const sim_demand *dm, uint32_t minute, int idx, const char *key)
{
    sim_rng r;
    sim_rng_seed(&r,
                 sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + SIM_K_PRIO) * 256 + (uint64_t)idx + 9));
    int L = 3;
    int32_t day = (int32_t)(minute / 1440);
    open_el(b, L, "priorite");
    el_raw(b, L + 1, "idPriorite", key, strlen(key));
    el_code(b, L + 1, "typePriorite", PICK(&r, sim_priority_types));
    el_code(b, L + 1, "origine", PICK(&r, sim_priority_origins));
    el_day(b, L + 1, "dateReconnaissance", day);
    if (idx < dm->prio_ended)
        el_day(b, L + 1, "dateFin", day + 180 + (int32_t)rb(&r, 540));
    close_el(b, L, "priorite");
}

static void render_pj(sim_buf *b, const sim_demand *dm, uint32_t minute, int idx, const char *key)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed, (uint64_t)(T_ITEM * 16 + SIM_K_PJ) * 256 + (uint64_t)idx + 9));
    int L = 3;
    open_el(b, L, "pieceJustificative");
    el_raw(b, L + 1, "idPiece", key, strlen(key));
    el_code(b, L + 1, "typePiece", PICK(&r, sim_document_types));
    uint32_t pp = rb(&r, 100);
    el_code(b, L + 1, "personneConcernee",
            pp < 75   ? "DEMANDEUR"
            : pp < 90 ? "COTITULAIRE"
                      : "PERSONNE_A_CHARGE");
    el_dt(b, L + 1, "dateDepot", minute, 0);
    uint32_t ok = rb(&r, 100);
    el_code(b, L + 1, "statutPiece",
            idx < dm->pj_checked ? (ok < 88 ? "CONFORME" : "NON_CONFORME") : "A_VERIFIER");
    uint32_t pages = 1 + rb(&r, 6);
    el_uint(b, L + 1, "nombrePages", pages);
    el_uint(b, L + 1, "taille", 40000 + rb(&r, 60000) * pages + rb(&r, 1000));
    char sha[65];
    for (int i = 0; i < 4; i++)
        hex(sha + 16 * i, sim_rng_next(&r), 16, 0);
    el_raw(b, L + 1, "empreinteSha256", sha, 64);
    if (pages >= 2 && rb(&r, 100) < 35) {
        open_el(b, L + 1, "listeSousDocument");
        uint32_t p = 1;
        while (p <= pages) {
            uint32_t e = p + rb(&r, 2);
            if (e > pages)
                e = pages;
            open_el(b, L + 2, "sousDocument");
            el_uint(b, L + 3, "pageDebut", p);
            el_uint(b, L + 3, "pageFin", e);
            el_text(b, L + 3, "libelle", PICK(&r, sim_document_labels));
            close_el(b, L + 2, "sousDocument");
            p = e + 1;
        }
        close_el(b, L + 1, "listeSousDocument");
    }
    close_el(b, L, "pieceJustificative");
}

typedef void (*item_fn)(sim_buf *, const sim_demand *, uint32_t, int, const char *);

static int render_keyed(sim_buf *b, const sim_view *v, int k, const char *list, item_fn fn,
                        sim_item *items, int max)
{
    const sim_demand *dm = v->d;
    int count = 0;
    for (int i = 0; i < dm->n[k]; i++) {
        if (k == SIM_K_CONT && i < 8 && (dm->cont_del >> i) & 1)
            continue;
        if (!count)
            open_el(b, 2, list);
        char key[24];
        item_key(dm, k, i, key);
        size_t off = b->len;
        fn(b, dm, item_minute(v, k, i), i, key);
        if (items && count < max) {
            snprintf(items[count].key, sizeof items[count].key, "%s", key);
            items[count].off = (uint32_t)off;
            items[count].len = (uint32_t)(b->len - off);
        }
        count++;
    }
    if (count)
        close_el(b, 2, list);
    return count;
}

/* ---- COTA ----------------------------------------------------------------------------------- */

static int render_cota(sim_buf *b, const sim_view *v, sim_item *items, int max)
{
    const sim_demand *dm = v->d;
    int ks[SIM_MAX_COMMUNES];
    int nc = communes_k(dm, ks);
    char epcis[3][10];
    int ne = 0;
    for (int i = 0; i < nc && ne < 3; i++) {
        char e[10];
        int model;
        epci_of(dm->dept, ks[i], e, &model);
        if (!model)
            continue;
        int dup = 0;
        for (int j = 0; j < ne; j++)
            dup |= strcmp(epcis[j], e) == 0;
        if (!dup)
            memcpy(epcis[ne++], e, 10);
    }
    if (!ne)
        return 0;
    int L = 2;
    open_el(b, L, "listeCotation");
    for (int i = 0; i < ne; i++) {
        size_t off = b->len;
        sim_rng r;
        sim_rng_seed(&r, sim_h(dm->seed ^ (uint64_t)atol(epcis[i]), T_COTA * 256 + dm->cota_ver));
        uint64_t he = sim_h((uint64_t)atol(epcis[i]), T_COTA);
        open_el(b, L + 1, "cotation");
        el_raw(b, L + 2, "epci", epcis[i], 9);
        el_day(b, L + 2, "dateCalcul", dm->cota_day);
        /* seniority weighs in, so older demands score higher */
        uint32_t age = (uint32_t)(dm->cota_day > dm->created ? dm->cota_day - dm->created : 0);
        el_tenths(b, L + 2, "note", 50 + rb(&r, 2400) + age / 3);
        el_uint(b, L + 2, "positionnement", 1 + rb(&r, 100));
        el_uint(b, L + 2, "delaiAttenteMoyen", 300 + sim_below(he, 1500));
        int ncr = (int)rb(&r, 5);
        if (ncr) {
            open_el(b, L + 2, "listeCritere");
            unsigned used = 0;
            for (int c = 0; c < ncr; c++) {
                unsigned ci = rb(&r, sim_score_criteria.n);
                if (used & (1u << ci))
                    continue;
                used |= 1u << ci;
                char t[24];
                int n = fmt_u64(t, 1 + rb(&r, 40));
                t[n] = 0;
                ind(b, L + 3);
                SIM_PUTS(b, "<ns1:critere code=\"");
                sim_buf_put(b, sim_score_criteria.v[ci], strlen(sim_score_criteria.v[ci]));
                SIM_PUTS(b, "\" points=\"");
                sim_buf_put(b, t, (size_t)n);
                SIM_PUTS(b, "\"/>\n");
            }
            close_el(b, L + 2, "listeCritere");
        }
        close_el(b, L + 1, "cotation");
        if (items && i < max) {
            snprintf(items[i].key, sizeof items[i].key, "%s", epcis[i]);
            items[i].off = (uint32_t)off;
            items[i].len = (uint32_t)(b->len - off);
        }
    }
    close_el(b, L, "listeCotation");
    return ne;
}

/* ---- DRM ------------------------------------------------------------------------------------ */

static int render_drm(sim_buf *b, const sim_view *v, int depth, sim_item *items, int max)
{
    const sim_demand *dm = v->d;
    if (!(dm->flags & SIM_F_DRM))
        return 0;
    int count = 0;
    int L = 2;
    for (int m = v->drm_last - depth + 1; m <= v->drm_last; m++) {
        uint64_t h = sim_h(dm->seed, (uint64_t)T_DRM * 100000 + (uint64_t)m);
        if (sim_below(h, 100) < 3)
            continue; /* nothing collected that month */
        if (!count)
            open_el(b, L, "listeMoisDrm");
        size_t off = b->len;
        char per[8];
        sim_fmt_month(m, per);
        open_el(b, L + 1, "moisDrm");
        el_raw(b, L + 2, "periode", per, 7);
        el_day(b, L + 2, "dateCollecte",
               sim_days_from_civil(m / 12, m % 12 + 1, 20) + (int32_t)sim_below(sim_mix64(h), 5));
        sim_rng r;
        sim_rng_seed(&r, h);
        uint32_t p = rb(&r, 100);
        int nr = p < 8 ? 0 : p < 55 ? 1 : p < 85 ? 2 : p < 96 ? 3 : 4;
        if (nr) {
            open_el(b, L + 2, "listeRessource");
            for (int i = 0; i < nr; i++) {
                open_el(b, L + 3, "ressource");
                el_code(b, L + 4, "nature", PICK(&r, sim_drm_natures));
                el_cents(b, L + 4, "montantNetVerse", 2000 + rb(&r, 320000));
                el_code(b, L + 4, "source", rb(&r, 100) < 60 ? "DSN" : "PASRAU");
                close_el(b, L + 3, "ressource");
            }
            close_el(b, L + 2, "listeRessource");
        }
        close_el(b, L + 1, "moisDrm");
        if (items && count < max) {
            memcpy(items[count].key, per, 8);
            items[count].key[7] = 0;
            items[count].off = (uint32_t)off;
            items[count].len = (uint32_t)(b->len - off);
        }
        count++;
    }
    if (count)
        close_el(b, L, "listeMoisDrm");
    return count;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

int sim_render_entity(sim_buf *b, const sim_view *v, int ent, int drm_depth, sim_item *items,
                      int max)
{
    size_t off = b->len;
    switch (ent) {
    case SIM_ENT_CERFA:
        render_cerfa(b, v);
        break;
    case SIM_ENT_DALO:
        render_dalo(b, v);
        break;
    case SIM_ENT_EVT:
        return render_keyed(b, v, SIM_K_EVT, "listeEvenement", render_evt, items, max);
    case SIM_ENT_CONT:
        return render_keyed(b, v, SIM_K_CONT, "listeContingent", render_cont, items, max);
    case SIM_ENT_ATTRIB:
        return render_keyed(b, v, SIM_K_ATTRIB, "listeAttribution", render_attrib, items, max);
    case SIM_ENT_PRIO:
        return render_keyed(b, v, SIM_K_PRIO, "listePriorite", render_prio, items, max);
    case SIM_ENT_COTA:
        return render_cota(b, v, items, max);
    case SIM_ENT_PJ:
        return render_keyed(b, v, SIM_K_PJ, "listePieceJustificative", render_pj, items, max);
    case SIM_ENT_DRM:
        return render_drm(b, v, drm_depth, items, max);
    default:
        return 0;
    }
    if (b->len == off)
        return 0;
    if (items && max > 0) {
        items[0].key[0] = 0;
        items[0].off = (uint32_t)off;
        items[0].len = (uint32_t)(b->len - off);
    }
    return 1;
}

void sim_render_demande(sim_buf *b, const sim_view *v, unsigned entities, int drm_depth)
{
    const sim_demand *dm = v->d;
    open_el(b, 1, "demande");
    el_raw(b, 2, "numUnique", dm->num, 18);
    if (dm->etat == SIM_ETAT_RADIEE)
        el_raw(b, 2, "etatDemande", "RADIEE", 6);
    else
        el_raw(b, 2, "etatDemande", "ACTIVE", 6);
    el_dt(b, 2, "dateDerniereModification", dm->lastmod, 1);
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (entities & (1u << e))
            sim_render_entity(b, v, e, drm_depth, NULL, 0);
    close_el(b, 1, "demande");
}
