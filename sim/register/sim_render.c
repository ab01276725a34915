/* sim_render.c: see sim_render.h. The entity dispatch, and the entities that are not keyed by an
 * item index: DALO, COTA (one item per EPCI with a scoring model) and DRM (one item per month).
 * CERFA is in sim_render_cerfa.c, the keyed items in sim_render_items.c. */
#include "sim_render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_export.h"
#include "sim_words.h"
#include "core/sim_geo.h"

enum { L = 2 }; /* the level of an entity's block */

void sim_render_record(sim_item *items, int max, int i, const char *key, const sim_xml *w,
                       size_t off)
{
    if (!items || i >= max)
        return;
    size_t n = strlen(key); /* keys are at most 16 characters; cut to fit all the same */
    if (n >= sizeof items[i].key)
        n = sizeof items[i].key - 1;
    memcpy(items[i].key, key, n);
    items[i].key[n] = '\0';
    items[i].off = (uint32_t)off;
    items[i].len = (uint32_t)(w->buf.len - off);
}

static void render_dalo(sim_xml *w, const sim_view *v)
{
    const sim_demand *dm = v->d;
    if (!dm->dalo)
        return;
    sim_xml_open(w, L, "dalo");
    sim_xml_code(w, L + 1, "statutDalo", sim_dalo_statuses.v[dm->dalo % sim_dalo_statuses.n]);
    sim_xml_day(w, L + 1, "dateDecision", dm->dalo_day);
    sim_xml_raw(w, L + 1, "departementComed", sim_depts[dm->dept].code,
                strlen(sim_depts[dm->dept].code));
    uint64_t h = sim_h(dm->seed, SIM_T_DALO);
    if (dm->dalo >= 2 && sim_below(h, 100) < 80) {
        char tl[4] = {'T', (char)('1' + sim_below(sim_mix64(h), 5)), 0};
        sim_xml_code(w, L + 1, "typologieRecommandee", tl);
    }
    if (dm->dalo == 4)
        sim_xml_day(w, L + 1, "dateRelogement", dm->dalo_day2);
    sim_xml_close(w, L, "dalo");
}

/* The distinct EPCIs with a scoring model among the first sought communes (at most 3). */
static int scored_epcis(const sim_demand *dm, char epcis[3][10])
{
    int ks[SIM_MAX_COMMUNES];
    int nc = sim_sought_communes(dm, ks);
    int ne = 0;
    for (int i = 0; i < nc && ne < 3; i++) {
        char e[10];
        int model;
        sim_commune_epci(dm->dept, ks[i], e, &model);
        if (!model)
            continue;
        int dup = 0;
        for (int j = 0; j < ne; j++)
            dup |= strcmp(epcis[j], e) == 0;
        if (!dup)
            memcpy(epcis[ne++], e, 10);
    }
    return ne;
}

/* Up to 4 distinct criteria, with their points. */
static void criteria(sim_xml *w, sim_rng *r)
{
    int ncr = (int)sim_rng_below(r, 5);
    if (!ncr)
        return;
    sim_xml_open(w, L + 2, "listeCritere");
    unsigned used = 0;
    for (int c = 0; c < ncr; c++) {
        unsigned ci = sim_rng_below(r, sim_score_criteria.n);
        if (used & (1u << ci))
            continue;
        used |= 1u << ci;
        char t[16];
        int n = snprintf(t, sizeof t, "%u", 1 + sim_rng_below(r, 40));
        sim_xml_indent(w, L + 3);
        SIM_XML_PUTS(w, "<ns1:critere code=\"");
        sim_xml_put(w, sim_score_criteria.v[ci], strlen(sim_score_criteria.v[ci]));
        SIM_XML_PUTS(w, "\" points=\"");
        sim_xml_put(w, t, (size_t)n);
        SIM_XML_PUTS(w, "\"/>\n");
    }
    sim_xml_close(w, L + 2, "listeCritere");
}

static void cotation(sim_xml *w, const sim_demand *dm, const char *epci)
{
    sim_rng r;
    sim_rng_seed(&r, sim_h(dm->seed ^ (uint64_t)atol(epci), SIM_T_COTA * 256 + dm->cota_ver));
    uint64_t he = sim_h((uint64_t)atol(epci), SIM_T_COTA);
    sim_xml_open(w, L + 1, "cotation");
    sim_xml_raw(w, L + 2, "epci", epci, 9);
    sim_xml_day(w, L + 2, "dateCalcul", dm->cota_day);
    /* seniority weighs in, so older demands score higher */
    uint32_t age = (uint32_t)(dm->cota_day > dm->created ? dm->cota_day - dm->created : 0);
    sim_xml_tenths(w, L + 2, "note", 50 + sim_rng_below(&r, 2400) + age / 3);
    sim_xml_uint(w, L + 2, "positionnement", 1 + sim_rng_below(&r, 100));
    sim_xml_uint(w, L + 2, "delaiAttenteMoyen", 300 + sim_below(he, 1500));
    criteria(w, &r);
    sim_xml_close(w, L + 1, "cotation");
}

static int render_cota(sim_xml *w, const sim_view *v, sim_item *items, int max)
{
    char epcis[3][10];
    int ne = scored_epcis(v->d, epcis);
    if (!ne)
        return 0;
    sim_xml_open(w, L, "listeCotation");
    for (int i = 0; i < ne; i++) {
        size_t off = w->buf.len;
        cotation(w, v->d, epcis[i]);
        sim_render_record(items, max, i, epcis[i], w, off);
    }
    sim_xml_close(w, L, "listeCotation");
    return ne;
}

/* One month of DRM resources (month index m, hash h of the month). */
static void drm_month(sim_xml *w, int m, uint64_t h, const char *period)
{
    sim_xml_open(w, L + 1, "moisDrm");
    sim_xml_raw(w, L + 2, "periode", period, 7);
    sim_xml_day(w, L + 2, "dateCollecte",
                sim_days_from_civil(m / 12, m % 12 + 1, 20) + (int32_t)sim_below(sim_mix64(h), 5));
    sim_rng r;
    sim_rng_seed(&r, h);
    uint32_t p = sim_rng_below(&r, 100);
    int nr = p < 8 ? 0 : p < 55 ? 1 : p < 85 ? 2 : p < 96 ? 3 : 4;
    if (nr) {
        sim_xml_open(w, L + 2, "listeRessource");
        for (int i = 0; i < nr; i++) {
            sim_xml_open(w, L + 3, "ressource");
            sim_xml_code(w, L + 4, "nature", SIM_PICK(&r, sim_drm_natures));
            sim_xml_cents(w, L + 4, "montantNetVerse", 2000 + sim_rng_below(&r, 320000));
            sim_xml_code(w, L + 4, "source", sim_rng_below(&r, 100) < 60 ? "DSN" : "PASRAU");
            sim_xml_close(w, L + 3, "ressource");
        }
        sim_xml_close(w, L + 2, "listeRessource");
    }
    sim_xml_close(w, L + 1, "moisDrm");
}

static int render_drm(sim_xml *w, const sim_view *v, int depth, sim_item *items, int max)
{
    const sim_demand *dm = v->d;
    if (!(dm->flags & SIM_F_DRM))
        return 0;
    int count = 0;
    for (int m = v->drm_last - depth + 1; m <= v->drm_last; m++) {
        uint64_t h = sim_h(dm->seed, (uint64_t)SIM_T_DRM * 100000 + (uint64_t)m);
        if (sim_below(h, 100) < 3)
            continue; /* nothing collected that month */
        if (!count)
            sim_xml_open(w, L, "listeMoisDrm");
        size_t off = w->buf.len;
        char period[8];
        sim_fmt_month(m, period);
        drm_month(w, m, h, period);
        sim_render_record(items, max, count, period, w, off);
        count++;
    }
    if (count)
        sim_xml_close(w, L, "listeMoisDrm");
    return count;
}

/* CERFA and DALO: one item without a key, when the block is present. */
static int render_single(sim_xml *w, const sim_view *v, int ent, sim_item *items, int max)
{
    size_t off = w->buf.len;
    if (ent == SIM_ENT_CERFA)
        sim_render_cerfa(w, v);
    else
        render_dalo(w, v);
    if (w->buf.len == off)
        return 0;
    sim_render_record(items, max, 0, "", w, off);
    return 1;
}

int sim_render_entity(sim_xml *w, const sim_view *v, int ent, int drm_depth, sim_item *items,
                      int max)
{
    switch (ent) {
    case SIM_ENT_CERFA:
    case SIM_ENT_DALO:
        return render_single(w, v, ent, items, max);
    case SIM_ENT_EVT:
        return sim_render_keyed(w, v, SIM_K_EVT, items, max);
    case SIM_ENT_CONT:
        return sim_render_keyed(w, v, SIM_K_CONT, items, max);
    case SIM_ENT_ATTRIB:
        return sim_render_keyed(w, v, SIM_K_ATTRIB, items, max);
    case SIM_ENT_PRIO:
        return sim_render_keyed(w, v, SIM_K_PRIO, items, max);
    case SIM_ENT_COTA:
        return render_cota(w, v, items, max);
    case SIM_ENT_PJ:
        return sim_render_keyed(w, v, SIM_K_PJ, items, max);
    case SIM_ENT_DRM:
        return render_drm(w, v, drm_depth, items, max);
    default:
        return 0;
    }
}

void sim_render_demande(sim_xml *w, const sim_view *v, unsigned entities, int drm_depth)
{
    const sim_demand *dm = v->d;
    sim_xml_open(w, 1, "demande");
    sim_xml_raw(w, 2, "numUnique", dm->num, 18);
    if (dm->etat == SIM_ETAT_RADIEE)
        sim_xml_raw(w, 2, "etatDemande", "RADIEE", 6);
    else
        sim_xml_raw(w, 2, "etatDemande", "ACTIVE", 6);
    sim_xml_datetime(w, 2, "dateDerniereModification", dm->lastmod, 1);
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (entities & (1u << e))
            sim_render_entity(w, v, e, drm_depth, NULL, 0);
    sim_xml_close(w, 1, "demande");
}
