/* sim_render_items.c: the keyed items of a demand (EVT, CONT, ATTRIB, PRIO, PJ). An item's key
 * is a bijection of the seed and its index (so keys are distinct within an entity), its date
 * comes from the journal or is hashed, its content is drawn from a generator of its own. */
#include "sim_render_int.h"

#include <stdio.h>
#include <string.h>

#include "sim_words.h"
#include "core/sim_geo.h"

enum { L = 3 }; /* the level of an item */

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
    uint64_t h = sim_h(dm->seed, (uint64_t)(SIM_T_ITEM * 16 + k) * 256 + (uint64_t)idx);
    /* skew towards recent dates (max of two draws), during office hours (07:00-17:00 UTC) */
    uint32_t a = sim_below(h, hi - lo + 1), c = sim_below(sim_mix64(h), hi - lo + 1);
    uint32_t t = lo + (a > c ? a : c);
    uint32_t t2 = t / 1440 * 1440 + 7 * 60 + sim_below(sim_mix64(h ^ 0x5A5A), 10 * 60);
    return (t2 >= lo && t2 <= hi) ? t2 : t;
}

static void item_key(const sim_demand *dm, int k, int idx, char *out)
{
    uint64_t base = sim_h(dm->seed, (uint64_t)SIM_T_KEY * 16 + (uint64_t)k);
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

/* One item being written: the demand, the item's generator, date and index. */
typedef struct item {
    sim_xml *w;
    const sim_demand *dm;
    sim_rng r;
    uint32_t minute;
    int idx;
} item;

static void evt_label(item *it, char *lib, size_t n)
{
    const char *t = SIM_PICK(&it->r, sim_event_labels);
    uint32_t s = sim_rng_below(&it->r, 100);
    if (s < 25) {
        snprintf(lib, n, "%s (réf. %06u)", t, sim_rng_below(&it->r, 1000000));
    } else if (s < 45) {
        char day[16];
        sim_fmt_day((int32_t)(it->minute / 1440), day);
        snprintf(lib, n, "%s – suite à l'échange du %c%c/%c%c/%.4s", t, day[8], day[9], day[5],
                 day[6], day);
    } else if (s < 55) {
        sim_ident id;
        sim_ident_of(it->dm, &id);
        snprintf(lib, n, "%s ; contact : %s %s", t, id.prenom, id.nom);
    } else {
        snprintf(lib, n, "%s", t);
    }
}

static void evt(item *it)
{
    sim_xml *w = it->w;
    sim_xml_code(w, L + 1, "typeEvenement", SIM_PICK(&it->r, sim_event_types));
    sim_xml_datetime(w, L + 1, "dateEvenement", it->minute, 0);
    char g[6];
    if (sim_rng_below(&it->r, 100) < 60)
        memcpy(g, it->dm->num + 13, 5);
    else
        snprintf(g, sizeof g, "G%04u", 1000 + sim_rng_below(&it->r, 9000));
    sim_xml_raw(w, L + 1, "numGuichetAuteur", g, 5);
    if (sim_rng_below(&it->r, 100) < 90) {
        char lib[320];
        evt_label(it, lib, sizeof lib);
        sim_xml_text(w, L + 1, "libelle", lib);
    }
}

static void cont(item *it)
{
    sim_xml *w = it->w;
    sim_xml_code(w, L + 1, "typeContingent", SIM_PICK(&it->r, sim_contingent_types));
    if (sim_rng_below(&it->r, 100) < 75)
        sim_xml_text(w, L + 1, "reservataire", SIM_PICK(&it->r, sim_reservataires));
    sim_xml_day(w, L + 1, "dateEligibilite", (int32_t)(it->minute / 1440));
}

/* The housing offered by a positive CAL decision; `signed_` when the lease was signed. */
static void attrib_offer(item *it, int32_t day, int signed_)
{
    sim_xml *w = it->w;
    sim_rng *r = &it->r;
    char t[32];
    snprintf(t, sizeof t, "RPLS-%s-%07u", sim_depts[it->dm->dept].code, sim_rng_below(r, 10000000));
    sim_xml_text(w, L + 1, "identifiantRpls", t);
    char tl[4] = {'T', (char)('1' + sim_rng_below(r, 5)), 0};
    sim_xml_code(w, L + 1, "typeLogement", tl);
    if (sim_rng_below(r, 100) < 20)
        sim_xml_code(w, L + 1, "accordCollectif", "ACD");
    sim_xml_bool(w, L + 1, "relogementDalo", it->dm->dalo >= 2 && sim_rng_below(r, 100) < 60);
    sim_xml_code(w, L + 1, "contingent", SIM_PICK(r, sim_contingent_types));
    sim_xml_cents(w, L + 1, "loyer", 20000 + sim_rng_below(r, 60000));
    sim_xml_uint(w, L + 1, "surface", 20 + sim_rng_below(r, 80));
    if (signed_)
        sim_xml_day(w, L + 1, "dateSignatureBail", day + 15 + (int32_t)sim_rng_below(r, 30));
}

static void attrib(item *it)
{
    sim_xml *w = it->w;
    int32_t day = (int32_t)(it->minute / 1440);
    sim_xml_day(w, L + 1, "dateCal", day);
    int signed_ = it->idx + 1 == it->dm->attrib_signed;
    uint32_t dp = sim_rng_below(&it->r, 100);
    int dec = signed_ ? 0 : dp < 35 ? 0 : dp < 55 ? 1 : dp < 65 ? 2 : dp < 95 ? 3 : 4;
    sim_xml_code(w, L + 1, "decisionCal", sim_cal_decisions.v[dec]);
    if (dec == 1)
        sim_xml_uint(w, L + 1, "rang", 1 + sim_rng_below(&it->r, 3));
    if (dec <= 2)
        attrib_offer(it, day, signed_);
}

static void prio(item *it)
{
    sim_xml *w = it->w;
    int32_t day = (int32_t)(it->minute / 1440);
    sim_xml_code(w, L + 1, "typePriorite", SIM_PICK(&it->r, sim_priority_types));
    sim_xml_code(w, L + 1, "origine", SIM_PICK(&it->r, sim_priority_origins));
    sim_xml_day(w, L + 1, "dateReconnaissance", day);
    if (it->idx < it->dm->prio_ended)
        sim_xml_day(w, L + 1, "dateFin", day + 180 + (int32_t)sim_rng_below(&it->r, 540));
}

/* The parts of a document of `pages` pages, one or two pages each. */
static void pj_parts(item *it, uint32_t pages)
{
    sim_xml *w = it->w;
    sim_xml_open(w, L + 1, "listeSousDocument");
    uint32_t p = 1;
    while (p <= pages) {
        uint32_t e = p + sim_rng_below(&it->r, 2);
        if (e > pages)
            e = pages;
        sim_xml_open(w, L + 2, "sousDocument");
        sim_xml_uint(w, L + 3, "pageDebut", p);
        sim_xml_uint(w, L + 3, "pageFin", e);
        sim_xml_text(w, L + 3, "libelle", SIM_PICK(&it->r, sim_document_labels));
        sim_xml_close(w, L + 2, "sousDocument");
        p = e + 1;
    }
    sim_xml_close(w, L + 1, "listeSousDocument");
}

static void pj(item *it)
{
    sim_xml *w = it->w;
    sim_rng *r = &it->r;
    sim_xml_code(w, L + 1, "typePiece", SIM_PICK(r, sim_document_types));
    uint32_t pp = sim_rng_below(r, 100);
    sim_xml_code(w, L + 1, "personneConcernee",
                 pp < 75   ? "DEMANDEUR"
                 : pp < 90 ? "COTITULAIRE"
                           : "PERSONNE_A_CHARGE");
    sim_xml_datetime(w, L + 1, "dateDepot", it->minute, 0);
    uint32_t ok = sim_rng_below(r, 100);
    sim_xml_code(w, L + 1, "statutPiece",
                 it->idx < it->dm->pj_checked ? (ok < 88 ? "CONFORME" : "NON_CONFORME")
                                              : "A_VERIFIER");
    uint32_t pages = 1 + sim_rng_below(r, 6);
    sim_xml_uint(w, L + 1, "nombrePages", pages);
    uint32_t per_page = sim_rng_below(r, 60000);
    sim_xml_uint(w, L + 1, "taille", 40000 + per_page * pages + sim_rng_below(r, 1000));
    char sha[65];
    for (int i = 0; i < 4; i++)
        hex(sha + 16 * i, sim_rng_next(r), 16, 0);
    sim_xml_raw(w, L + 1, "empreinteSha256", sha, 64);
    if (pages >= 2 && sim_rng_below(r, 100) < 35)
        pj_parts(it, pages);
}

/* The keyed entities, by SIM_K_ index: their elements and the writer of an item's content. */
static const struct keyed {
    const char *list, *item, *key;
    void (*content)(item *it);
} keyed[SIM_K__COUNT] = {
    [SIM_K_EVT] = {"listeEvenement", "evenement", "idEvenement", evt},
    [SIM_K_CONT] = {"listeContingent", "contingent", "idContingent", cont},
    [SIM_K_ATTRIB] = {"listeAttribution", "attribution", "idAttribution", attrib},
    [SIM_K_PRIO] = {"listePriorite", "priorite", "idPriorite", prio},
    [SIM_K_PJ] = {"listePieceJustificative", "pieceJustificative", "idPiece", pj},
};

int sim_render_keyed(sim_xml *w, const sim_view *v, int k, sim_item *items, int max)
{
    const sim_demand *dm = v->d;
    const struct keyed *e = &keyed[k];
    int count = 0;
    for (int i = 0; i < dm->n[k]; i++) {
        if (k == SIM_K_CONT && i < 8 && (dm->cont_del >> i) & 1)
            continue; /* withdrawn */
        if (!count)
            sim_xml_open(w, L - 1, e->list);
        char key[24];
        item_key(dm, k, i, key);
        size_t off = w->buf.len;
        item it = {w, dm, {{0}}, item_minute(v, k, i), i};
        sim_rng_seed(&it.r,
                     sim_h(dm->seed, (uint64_t)(SIM_T_ITEM * 16 + k) * 256 + (uint64_t)i + 9));
        sim_xml_open(w, L, e->item);
        sim_xml_raw(w, L + 1, e->key, key, strlen(key));
        e->content(&it);
        sim_xml_close(w, L, e->item);
        sim_render_record(items, max, count, key, w, off);
        count++;
    }
    if (count)
        sim_xml_close(w, L - 1, e->list);
    return count;
}
