/* parse_header.c: the entete of an export document (export.xsd, contract README §3): its number,
 * date and parts, and the perimetre it answers (entities, state, locations, DRM depth), checked
 * and handed to on_header before the first demand; and the pied's count of demands. Other
 * elements of the entete (numGuichet, a later version's) are skipped. */
#include "parser_internal.h"

#include "../common/isotime.h"

/* Parts of an export, at most; pied/nombreDemandes, at most. */
#define MAX_PARTS   100000u
#define MAX_DEMANDS 4000000000u

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
    }
    *out = (unsigned)v;
    return true;
}

static void add_location(sne_parser *p, const char *code, size_t n)
{
    if (p->hdr.n_locations >= SNE_MAX_LOCATIONS) {
        sne_parse_fail(p, SNE_ERR_LIMIT, 0, "perimetre lists more than %d locations",
                       SNE_MAX_LOCATIONS);
        return;
    }
    if (n == 0 || n >= sizeof(p->locations[0])) {
        sne_parse_fail(p, SNE_ERR_INVALID, 0, "perimetre holds an invalid location code");
        return;
    }
    memcpy(p->locations[p->hdr.n_locations], code, n);
    p->locations[p->hdr.n_locations][n] = '\0';
    p->hdr.n_locations++;
}

/* The value of the unqualified attribute `name` among SAX2 attributes, or NULL. */
static const xmlChar *attribute(const xmlChar **attrs, int n, const char *name, size_t *len)
{
    for (int i = 0; i < n; i++, attrs += 5) {
        if (attrs[2] == NULL && sne_parse_named(attrs[0], name)) {
            *len = (size_t)(attrs[4] - attrs[3]);
            return attrs[3];
        }
    }
    return NULL;
}

/* The text fields among an element's children, by name. */
typedef struct named_field {
    const char *name;
    field f;
} named_field;

static const named_field entete_fields[] = {{"numeroExport", F_NUMERO},
                                            {"dateExport", F_DATE_EXPORT},
                                            {"partie", F_PARTIE},
                                            {"nombreParties", F_NOMBRE_PARTIES}};
static const named_field perimetre_fields[] = {{"etatDemande", F_ETAT_PERIMETRE},
                                               {"profondeurDrm", F_PROFONDEUR},
                                               {"dernierePeriodeDrm", F_DERNIERE_PERIODE}};

/* Begins the field `name` is in `table` (n entries); false when it is none of them. */
static bool begin_named_field(sne_parser *p, const xmlChar *name, const named_field *table,
                              size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sne_parse_named(name, table[i].name)) {
            sne_parse_begin_field(p, table[i].f);
            return true;
        }
    return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* entete's own children (depth 3). */
static void start_entete_child(sne_parser *p, const xmlChar *name)
{
    if (!begin_named_field(p, name, entete_fields, COUNT(entete_fields)) &&
        !sne_parse_named(name, "perimetre"))
        sne_parse_skip_subtree(p);
}

/* perimetre's children (depth 4). */
static void start_perimetre_child(sne_parser *p, const xmlChar *name)
{
    if (begin_named_field(p, name, perimetre_fields, COUNT(perimetre_fields)))
        return;
    if (sne_parse_named(name, "listeDepartement"))
        p->hdr.location = SNE_LOCATION_DEPARTEMENTS;
    else if (sne_parse_named(name, "listeCommune"))
        p->hdr.location = SNE_LOCATION_COMMUNES;
    else if (!sne_parse_named(name, "listeEntite"))
        sne_parse_skip_subtree(p);
}

void sne_parse_header_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs)
{
    const xmlChar *parent = p->names[p->depth - 2];
    if (p->depth == 3) {
        start_entete_child(p, name);
    } else if (p->depth == 4 && sne_parse_named(parent, "perimetre")) {
        start_perimetre_child(p, name);
    } else if (p->depth == 5 && sne_parse_named(parent, "listeEntite") &&
               sne_parse_named(name, "entite")) {
        sne_parse_begin_field(p, F_ENTITE);
    } else if (p->depth == 5 && sne_parse_named(parent, "listeDepartement") &&
               sne_parse_named(name, "departement")) {
        sne_parse_begin_field(p, F_DEPARTEMENT);
    } else if (p->depth == 5 && sne_parse_named(parent, "listeCommune") &&
               sne_parse_named(name, "commune")) {
        size_t n;
        const xmlChar *code = attribute(attrs, nattrs, "code", &n);
        if (!code)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "perimetre/listeCommune/commune has no code");
        else
            add_location(p, (const char *)code, n);
    } else {
        sne_parse_skip_subtree(p);
    }
}

/* The perimetre's fields. */
static void perimetre_field(sne_parser *p, field f, const char *s, size_t n)
{
    switch (f) {
    case F_ENTITE: {
        int e = sne_entity_by_code(s, n);
        if (e < 0)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "perimetre names an unknown entity");
        else
            p->hdr.entities |= 1u << e;
        return;
    }
    case F_ETAT_PERIMETRE:
        if (sne_parse_etat(p, s, &p->hdr.radiees))
            p->etat_perimetre_seen = true;
        return;
    case F_DEPARTEMENT:
        add_location(p, s, n);
        return;
    case F_PROFONDEUR:
        if (!parse_uint(s, SNE_DRM_PERIODS, &p->hdr.profondeur_drm) || p->hdr.profondeur_drm == 0)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "perimetre/profondeurDrm is not 1, 2 or 3");
        return;
    case F_DERNIERE_PERIODE:
        if (!sne_period_parse(s, n, &p->hdr.derniere_periode_drm))
            sne_parse_fail(p, SNE_ERR_INVALID, 0,
                           "perimetre/dernierePeriodeDrm is not a period (YYYY-MM)");
        return;
    default:
        return;
    }
}

void sne_parse_header_field(sne_parser *p, field f, const char *s, size_t n)
{
    sne_export_header *h = &p->hdr;
    switch (f) {
    case F_NUMERO:
        if (n == 0 || !sne_parse_copy_field(h->numero, sizeof(h->numero), s, n))
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "entete/numeroExport is empty or too long");
        return;
    case F_DATE_EXPORT:
        if (!sne_parse_copy_field(h->date_export, sizeof(h->date_export), s, n) ||
            !sne_isotime_parse(h->date_export, &h->date_export_ms))
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "entete/dateExport is not an xs:dateTime");
        return;
    case F_PARTIE:
        if (!parse_uint(s, MAX_PARTS, &h->partie) || h->partie == 0)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "entete/partie is not a positive integer");
        return;
    case F_NOMBRE_PARTIES:
        if (!parse_uint(s, MAX_PARTS, &h->nombre_parties) || h->nombre_parties == 0)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "entete/nombreParties is not a positive integer");
        return;
    case F_NOMBRE_DEMANDES: {
        unsigned count = 0;
        if (!parse_uint(s, MAX_DEMANDS, &count))
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "pied/nombreDemandes is not an integer");
        p->pied_count = count;
        return;
    }
    default:
        perimetre_field(p, f, s, n);
        return;
    }
}

sne_err sne_parse_header_deliver(sne_parser *p)
{
    sne_export_header *h = &p->hdr;
    if (!h->numero[0] || !h->date_export[0] || !h->partie || !h->nombre_parties || !h->entities ||
        !p->etat_perimetre_seen)
        return sne_error_set(&p->err, SNE_ERR_INVALID, 0,
                             "entete lacks numeroExport, dateExport, partie, nombreParties, "
                             "listeEntite or etatDemande");
    if (h->partie > h->nombre_parties)
        return sne_error_set(&p->err, SNE_ERR_INVALID, 0, "entete/partie %u is beyond %u parts",
                             h->partie, h->nombre_parties);
    if (h->location != SNE_LOCATION_ALL && h->n_locations == 0)
        return sne_error_set(&p->err, SNE_ERR_INVALID, 0, "perimetre has an empty location list");
    h->locations = p->locations;
    p->seen_entete = true;
    return p->cb.on_header ? p->cb.on_header(p->cb_ctx, h, &p->err) : SNE_OK;
}
