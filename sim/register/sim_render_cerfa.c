/* sim_render_cerfa.c: the CERFA of a demand (the form: applicant, household, co-holder, current
 * and sought housing, motives, radiation). Each part of the form draws from its own generator,
 * seeded by the seed and the part's version, so that a modification of one part (evolve) leaves
 * the others as they were. All content is synthetic. */
#include "sim_render_int.h"

#include <stdio.h>
#include <string.h>

#include "sim_words.h"
#include "core/sim_geo.h"

enum { L = 2 }; /* the level of <cerfa> */

/* What the parts of the form share while one CERFA is written. */
typedef struct cerfa {
    sim_xml *w;
    const sim_demand *dm;
    sim_ident id;
    char nom[128];  /* the applicant's surname as written, also the children's */
    const char *sf; /* situationFamiliale code */
    int couple;     /* sf is married, PACS or cohabiting */
    int nkids;
    int nb_hab; /* people in the household, applicant included */
    int year;   /* of the last renewal (or creation): the tax notice's year */
    sim_rng rh; /* household (version v_house) */
    sim_rng rr; /* resources (version v_res) */
} cerfa;

static void resources(sim_xml *w, int lvl, const char *list, sim_rng *r, int n)
{
    if (n <= 0)
        return;
    sim_xml_open(w, lvl, list);
    for (int i = 0; i < n; i++) {
        sim_xml_open(w, lvl + 1, "detailRessource");
        sim_xml_code(w, lvl + 2, "ressource", SIM_PICK(r, sim_resource_codes));
        sim_xml_cents(w, lvl + 2, "montant", 5000 + sim_rng_below(r, 280000));
        sim_xml_close(w, lvl + 1, "detailRessource");
    }
    sim_xml_close(w, lvl, list);
}

static void identity(sim_xml *w, int lvl, const char *civ, const char *nom, const char *nom_usage,
                     const char *prenom, int32_t birth, const char *nir, int nat,
                     const char *sitfam)
{
    sim_xml_code(w, lvl, "civilite", civ);
    sim_xml_text(w, lvl, "nom", nom);
    if (nom_usage)
        sim_xml_text(w, lvl, "nomUsage", nom_usage);
    sim_xml_text(w, lvl, "prenom", prenom);
    sim_xml_day(w, lvl, "dateNaissance", birth);
    if (nir && nir[0])
        sim_xml_raw(w, lvl, "nir", nir, strlen(nir));
    char t[4];
    snprintf(t, sizeof t, "%d", nat);
    sim_xml_code(w, lvl, "nationalite", t);
    if (sitfam)
        sim_xml_code(w, lvl, "situationFamiliale", sitfam);
}

/* codePostal and commune of a commune drawn in department di; with corsica_fix, the postal code
 * of a Corsican commune starts with 20 (the postal address does so, the work place does not). */
static void postal_place(sim_xml *w, int lvl, sim_rng *r, int di, int corsica_fix)
{
    char code[6], cp[6];
    sim_commune_code(di, 1 + (int)sim_rng_below(r, sim_depts[di].communes), code);
    memcpy(cp, code, 3);
    snprintf(cp + 3, 3, "%02u", sim_rng_below(r, 10) * 10);
    if (corsica_fix && (code[1] == 'A' || code[1] == 'B'))
        cp[0] = '2', cp[1] = '0';
    sim_xml_raw(w, lvl, "codePostal", cp, 5);
    sim_xml_code(w, lvl, "commune", code);
}

static void work(sim_xml *w, int lvl, sim_rng *r, int di)
{
    uint32_t p = sim_rng_below(r, 100);
    if (p < 20)
        return;
    sim_xml_open(w, lvl, "situationProfessionnelle");
    sim_xml_text(w, lvl + 1, "profession", SIM_PICK(r, sim_professions));
    sim_xml_code(w, lvl + 1, "typeContratTravail", SIM_PICK(r, sim_work_contracts));
    if (p < 70) {
        sim_xml_text(w, lvl + 1, "nomEmployeurPrincipal", SIM_PICK(r, sim_employers));
        postal_place(w, lvl + 1, r, di, 0);
    }
    sim_xml_close(w, lvl, "situationProfessionnelle");
}

static void tax_income(sim_xml *w, int lvl, sim_rng *r, int year)
{
    if (sim_rng_below(r, 100) < 10)
        return;
    sim_xml_open(w, lvl, "revenuFiscal");
    sim_xml_uint(w, lvl + 1, "anneeMoins1", (uint64_t)(year - 1));
    sim_xml_uint(w, lvl + 1, "montantMoins1", sim_rng_below(r, 42000));
    if (sim_rng_below(r, 100) < 80) {
        sim_xml_uint(w, lvl + 1, "anneeMoins2", (uint64_t)(year - 2));
        sim_xml_uint(w, lvl + 1, "montantMoins2", sim_rng_below(r, 40000));
    }
    sim_xml_close(w, lvl, "revenuFiscal");
}

static void postal_address(cerfa *c, sim_rng *rc)
{
    sim_xml *w = c->w;
    sim_xml_open(w, L + 3, "adressePostale");
    sim_xml_bool(w, L + 4, "etranger", 0);
    char t[16];
    uint32_t bis = sim_rng_below(rc, 100) < 8, number = 1 + sim_rng_below(rc, 250);
    snprintf(t, sizeof t, "%u%s", number, bis ? " bis" : "");
    sim_xml_text(w, L + 4, "numero", t);
    sim_xml_text(w, L + 4, "voie", SIM_PICK(rc, sim_streets));
    if (sim_rng_below(rc, 100) < 25)
        sim_xml_text(w, L + 4, "complement", SIM_PICK(rc, sim_address_complements));
    int di = sim_rng_below(rc, 100) < 85 ? c->dm->dept : sim_dept_pick((uint32_t)sim_rng_next(rc));
    postal_place(w, L + 4, rc, di, 1);
    sim_xml_close(w, L + 3, "adressePostale");
}

/* The applicant's identity and contact (version v_ident). */
static void applicant_contact(cerfa *c)
{
    sim_xml *w = c->w;
    const sim_ident *id = &c->id;
    sim_rng rc;
    sim_rng_seed(&rc, sim_h(c->dm->seed, SIM_T_CONTACT * 256 + c->dm->v_ident));
    const char *usage = (id->female && c->couple && sim_rng_below(&rc, 100) < 30)
                            ? SIM_PICK(&rc, sim_last_names)
                            : NULL;
    identity(w, L + 3, id->female ? "2" : "1", c->nom, usage, id->prenom, id->birth, id->nir,
             id->nat, sim_rng_below(&rc, 100) < 95 ? c->sf : NULL);
    if (sim_rng_below(&rc, 100) < 92) {
        char tel[12];
        uint32_t line = sim_rng_below(&rc, 100000000), mobile = 6 + sim_rng_below(&rc, 2);
        snprintf(tel, sizeof tel, "0%u%08u", mobile, line);
        sim_xml_raw(w, L + 3, "telPortable", tel, 10);
    }
    if (sim_rng_below(&rc, 100) < 80) {
        char a1[64], a2[64], mel[160];
        sim_ascii_lower(id->prenom, a1, sizeof a1);
        sim_ascii_lower(id->nom, a2, sizeof a2);
        const char *domain = SIM_PICK(&rc, sim_mail_domains);
        snprintf(mel, sizeof mel, "%s.%s%u@%s", a1, a2, sim_rng_below(&rc, 100), domain);
        sim_xml_text(w, L + 3, "mel", mel);
    }
    if (sim_rng_below(&rc, 100) < 90)
        postal_address(c, &rc);
}

static void applicant(cerfa *c)
{
    sim_xml *w = c->w;
    sim_xml_open(w, L + 2, "demandeur");
    applicant_contact(c);
    work(w, L + 3, &c->rr, c->dm->dept);
    tax_income(w, L + 3, &c->rr, c->year);
    uint32_t nr = sim_rng_below(&c->rr, 100);
    resources(w, L + 3, "listeRessourceRecue", &c->rr,
              nr < 15   ? 0
              : nr < 55 ? 1
              : nr < 80 ? 2
              : nr < 93 ? 3
                        : 4);
    resources(w, L + 3, "listeRessourceVersee", &c->rr, sim_rng_below(&c->rr, 100) < 5 ? 1 : 0);
    sim_xml_close(w, L + 2, "demandeur");
}

static void children(cerfa *c)
{
    sim_xml *w = c->w;
    sim_rng *rh = &c->rh;
    if (!c->nkids)
        return;
    sim_xml_open(w, L + 2, "listePersonneACharge");
    for (int i = 0; i < c->nkids; i++) {
        int f = sim_rng_below(rh, 2);
        sim_xml_open(w, L + 3, "personneACharge");
        sim_xml_text(w, L + 4, "nom", c->nom);
        sim_xml_text(w, L + 4, "prenom",
                     f ? SIM_PICK(rh, sim_female_first_names) : SIM_PICK(rh, sim_male_first_names));
        sim_xml_day(w, L + 4, "dateNaissance",
                    c->dm->created - (int32_t)sim_rng_below(rh, 17 * 365) + 300);
        sim_xml_code(w, L + 4, "sexe", f ? "F" : "M");
        sim_xml_code(w, L + 4, "lienParente", sim_rng_below(rh, 100) < 94 ? "E" : "A");
        sim_xml_close(w, L + 3, "personneACharge");
    }
    sim_xml_close(w, L + 2, "listePersonneACharge");
    c->nb_hab += c->nkids;
}

static void unborn(cerfa *c)
{
    sim_xml *w = c->w;
    if (sim_rng_below(&c->rh, 100) >= 4)
        return;
    sim_xml_open(w, L + 2, "personneANaitre");
    sim_xml_uint(w, L + 3, "nombre", sim_rng_below(&c->rh, 100) < 97 ? 1 : 2);
    sim_xml_day(w, L + 3, "dateNaissancePrevue",
                c->dm->created + 30 + (int32_t)sim_rng_below(&c->rh, 240));
    sim_xml_close(w, L + 2, "personneANaitre");
}

static void co_holder(cerfa *c)
{
    sim_xml *w = c->w;
    sim_rng *rh = &c->rh;
    if (!c->couple || sim_rng_below(rh, 100) >= 75)
        return;
    int f = !c->id.female;
    if (sim_rng_below(rh, 100) < 6)
        f = c->id.female;
    sim_xml_open(w, L + 2, "listeCotitulaire");
    sim_xml_open(w, L + 3, "cotitulaire");
    char cnir[16] = "";
    int32_t cb = c->id.birth + (int32_t)sim_rng_below(rh, 3650) - 1825;
    if (sim_rng_below(rh, 100) < 80)
        sim_nir_make(rh, f, cb, 0, cnir);
    int nat = sim_rng_below(rh, 100) < 85 ? 1 : 3;
    const char *prenom =
        f ? SIM_PICK(rh, sim_female_first_names) : SIM_PICK(rh, sim_male_first_names);
    const char *nom = sim_rng_below(rh, 100) < 60 ? c->nom : SIM_PICK(rh, sim_last_names);
    identity(w, L + 4, f ? "2" : "1", nom, NULL, prenom, cb, cnir, nat, NULL);
    sim_xml_code(w, L + 4, "lienDemandeur", c->sf[0] == 'M' ? "C" : c->sf[0] == 'P' ? "P" : "U");
    work(w, L + 4, &c->rr, c->dm->dept);
    tax_income(w, L + 4, &c->rr, c->year);
    resources(w, L + 4, "listeRessourceRecue", &c->rr, (int)sim_rng_below(&c->rr, 3));
    sim_xml_close(w, L + 3, "cotitulaire");
    sim_xml_close(w, L + 2, "listeCotitulaire");
    c->nb_hab++;
}

/* 1 when a household living in a home of model `mod` pays a rent. */
static int pays_rent(const char *mod)
{
    return strcmp(mod, "LP") == 0 || strcmp(mod, "HLM") == 0 || strcmp(mod, "RS") == 0 ||
           strcmp(mod, "FOY") == 0 || strcmp(mod, "HOTEL") == 0;
}

static void current_home(cerfa *c)
{
    sim_xml *w = c->w;
    sim_rng *rh = &c->rh;
    if (sim_rng_below(rh, 100) >= 93)
        return;
    sim_xml_open(w, L + 2, "logementActuel");
    const char *mod = SIM_PICK(rh, sim_housing_models);
    sim_xml_open(w, L + 3, "listeModeleLogement");
    sim_xml_code(w, L + 4, "modeleLogement", mod);
    sim_xml_close(w, L + 3, "listeModeleLogement");
    if (pays_rent(mod))
        sim_xml_uint(w, L + 3, "montantMensuelLoyer", 180 + sim_rng_below(rh, 950));
    sim_xml_uint(w, L + 3, "nombreHabitant",
                 (uint64_t)c->nb_hab + (sim_rng_below(rh, 100) < 15 ? sim_rng_below(rh, 4) : 0));
    if (sim_rng_below(rh, 100) < 40)
        sim_xml_code(w, L + 3, "categorieLogement",
                     sim_rng_below(rh, 100) < 80 ? "APPART" : "MAISON");
    uint32_t rooms = 1 + sim_rng_below(rh, 5);
    char tl[4] = {'T', (char)('0' + rooms), 0};
    sim_xml_code(w, L + 3, "typeLogementActuel", tl);
    sim_xml_uint(w, L + 3, "surface", 9 + rooms * 14 + sim_rng_below(rh, 16));
    if (strcmp(mod, "PROP") == 0)
        sim_xml_bool(w, L + 3, "proprietaire", 1);
    sim_xml_close(w, L + 2, "logementActuel");
}

/* personnePhysique: the applicant, then the household (drawn first: the applicant's marital
 * status lives there). */
static void persons(cerfa *c)
{
    sim_rng_seed(&c->rh, sim_h(c->dm->seed, SIM_T_HOUSE * 256 + c->dm->v_house));
    sim_rng_seed(&c->rr, sim_h(c->dm->seed, SIM_T_RES * 256 + c->dm->v_res));
    c->sf = SIM_PICK(&c->rh, sim_family_situations);
    c->couple = c->sf[0] == 'M' || c->sf[0] == 'P' || c->sf[0] == 'U';
    uint32_t pc = sim_rng_below(&c->rh, 100);
    c->nkids = pc < 45 ? 0 : pc < 65 ? 1 : pc < 82 ? 2 : pc < 92 ? 3 : pc < 97 ? 4 : 5;
    c->nb_hab = 1;
    sim_xml_open(c->w, L + 1, "personnePhysique");
    applicant(c);
    children(c);
    unborn(c);
    co_holder(c);
    current_home(c);
    sim_xml_close(c->w, L + 1, "personnePhysique");
}

static void motives(sim_xml *w, const sim_demand *dm)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed, SIM_T_MOTIF * 256 + dm->v_house));
    int second = sim_rng_below(&r, 100) < 25, third = sim_rng_below(&r, 100) < 8;
    int nm = 1 + second + third;
    sim_xml_open(w, L + 1, "listeMotifDemande");
    for (int i = 0; i < nm; i++) {
        char t[4];
        snprintf(t, sizeof t, "%02u", 1 + sim_rng_below(&r, 25));
        sim_xml_code(w, L + 2, "motifDemande", t);
    }
    sim_xml_close(w, L + 1, "listeMotifDemande");
}

static void sought_home(sim_xml *w, const sim_demand *dm, int nb_hab)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed, SIM_T_LOC * 256 + dm->v_loc + 77));
    sim_xml_open(w, L + 1, "logementRecherche");
    sim_xml_bool(w, L + 2, "demandeElargie", sim_rng_below(&r, 100) < 40);
    sim_xml_open(w, L + 2, "listeTypeLogement");
    int base = nb_hab <= 1 ? 1 : nb_hab >= 5 ? 4 : nb_hab;
    int nt = 1 + (sim_rng_below(&r, 100) < 35);
    for (int i = 0; i < nt; i++) {
        char tl[4] = {'T', (char)('0' + (base + i > 6 ? 6 : base + i)), 0};
        sim_xml_code(w, L + 3, "typeLogement", tl);
    }
    sim_xml_close(w, L + 2, "listeTypeLogement");
    char codes[SIM_MAX_COMMUNES][6];
    int nc = sim_demand_communes(dm, codes);
    sim_xml_open(w, L + 2, "listeLocalisationSouhaitee");
    for (int i = 0; i < nc; i++) {
        sim_xml_open(w, L + 3, "localisationSouhaitee");
        sim_xml_code(w, L + 4, "commune", codes[i]);
        sim_xml_close(w, L + 3, "localisationSouhaitee");
    }
    sim_xml_close(w, L + 2, "listeLocalisationSouhaitee");
    if (sim_rng_below(&r, 100) < 45)
        sim_xml_cents(w, L + 2, "loyerMaximum", 25000 + sim_rng_below(&r, 70000));
    sim_xml_close(w, L + 1, "logementRecherche");
}

static void radiation(sim_xml *w, const sim_demand *dm)
{
    if (dm->etat != SIM_ETAT_RADIEE)
        return;
    sim_xml_open(w, L + 1, "radiation");
    sim_xml_code(w, L + 2, "motifRadiation",
                 sim_radiation_motives.v[dm->rad_motif % sim_radiation_motives.n]);
    uint64_t h = sim_h(dm->seed, SIM_T_RAD);
    if (sim_below(h, 100) < 30) {
        char t[4];
        snprintf(t, sizeof t, "%02u", 1 + sim_below(sim_mix64(h), 12));
        sim_xml_code(w, L + 2, "sousMotifRadiation", t);
    }
    sim_xml_day(w, L + 2, "dateRadiation", dm->rad_day);
    sim_xml_close(w, L + 1, "radiation");
}

void sim_render_cerfa(sim_xml *w, const sim_view *v)
{
    cerfa c;
    memset(&c, 0, sizeof c);
    c.w = w;
    c.dm = v->d;
    sim_ident_of(c.dm, &c.id);
    sim_ident_surname(&c.id, c.nom, sizeof c.nom);
    int32_t renew = c.dm->renew_n ? sim_add_years(c.dm->created, c.dm->renew_n) : c.dm->created;
    int month, day;
    sim_civil_from_days(renew, &c.year, &month, &day);
    sim_xml_open(w, L, "cerfa");
    sim_xml_raw(w, L + 1, "numGuichet", c.dm->num + 13, 5);
    sim_xml_day(w, L + 1, "dateCreationDemande", c.dm->created);
    if (c.dm->renew_n)
        sim_xml_day(w, L + 1, "dateRenouvellement", renew);
    persons(&c);
    motives(w, c.dm);
    sought_home(w, c.dm, c.nb_hab);
    radiation(w, c.dm);
    sim_xml_close(w, L, "cerfa");
}
