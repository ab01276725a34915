#include "parser.h"

#include "../canon/canon.h"
#include "../common/buffer.h"
#include "../common/isotime.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Depths in the document: 1 exportNuu, 2 entete/demande/pied, 3 their children, ... */
enum { DEPTH_SECTION = 2, DEPTH_FIELD = 3 };

/* The text fields the parser captures outside items. */
typedef enum field {
    F_NONE,
    F_NUMERO,
    F_DATE_EXPORT,
    F_GUICHET,
    F_PARTIE,
    F_NOMBRE_PARTIES,
    F_ENTITE,
    F_ETAT_PERIMETRE,
    F_DEPARTEMENT,
    F_PROFONDEUR,
    F_DERNIERE_PERIODE,
    F_NOMBRE_DEMANDES,
    F_NUM_UNIQUE,
    F_ETAT_DEMANDE,
    F_DATE_MODIFICATION
} field;

typedef enum section { S_NONE, S_ENTETE, S_DEMANDE, S_PIED } section;

/* libxml2 2.9 reads a whole start tag, comparing its attributes pairwise, before any callback
 * runs: a tag with 500000 attributes costs minutes of CPU before the limit in canon_open_element
 * could apply. So the raw bytes are scanned first, and a start tag with more than MAX_ATTRIBUTES
 * '=' signs outside quotes is refused. Comments, CDATA sections and processing instructions are
 * skipped whole (their '=' are text); the scan is a few states, run with memchr over text. */
#define MAX_ATTRIBUTES 64

typedef enum scan_state {
    SCAN_TEXT,
    SCAN_LT,      /* after '<' */
    SCAN_BANG,    /* after "<!" */
    SCAN_BANG2,   /* after "<!-" or "<![" */
    SCAN_TAG,     /* inside a start or end tag */
    SCAN_QUOTED,  /* inside an attribute value */
    SCAN_COMMENT, /* until "-->" */
    SCAN_CDATA,   /* until "]]>" */
    SCAN_PI,      /* until "?>" */
    SCAN_DECL     /* "<!DOCTYPE" and the like, until '>' (the parser refuses them anyway) */
} scan_state;

typedef struct markup_scan {
    scan_state state;
    uint8_t quote;   /* the quote that opened the value */
    uint8_t last[2]; /* the last two bytes of the previous chunk, for "-->", "]]>" and "?>" */
    uint8_t bang;    /* '-' or '[' in SCAN_BANG2 */
    unsigned equals; /* '=' in the current tag */
} markup_scan;

/* The bytes that change the state inside a tag. */
static const bool tag_special[256] = {['"'] = true, ['\''] = true, ['='] = true, ['>'] = true};

/* The byte `back` (1 or 2) places before b[at], reaching into the previous chunk. */
static uint8_t byte_before(const markup_scan *m, const uint8_t *b, size_t at, size_t back)
{
    return at >= back ? b[at - back] : m->last[2 + at - back];
}

/* Whether the '>' at b[at] ends the comment, CDATA section, PI or declaration being skipped. */
static bool ends_skipped(const markup_scan *m, const uint8_t *b, size_t at)
{
    uint8_t p1 = byte_before(m, b, at, 1), p2 = byte_before(m, b, at, 2);
    switch (m->state) {
    case SCAN_COMMENT:
        return p1 == '-' && p2 == '-';
    case SCAN_CDATA:
        return p1 == ']' && p2 == ']';
    case SCAN_PI:
        return p1 == '?';
    default:
        return true;
    }
}

/* Scans `n` bytes; false when a start tag has too many attributes. Text, attribute values and
 * skipped sections are crossed with memchr, tags with a table: this runs over every byte of the
 * export before libxml2 does. */
static bool scan_markup(markup_scan *m, const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        switch (m->state) {
        case SCAN_TEXT: {
            const uint8_t *lt = memchr(b + i, '<', n - i);
            i = lt ? (size_t)(lt - b) + 1 : n;
            if (lt)
                m->state = SCAN_LT;
            break;
        }
        case SCAN_LT: {
            uint8_t c = b[i++];
            m->state = c == '!' ? SCAN_BANG : c == '?' ? SCAN_PI : SCAN_TAG;
            m->equals = 0;
            break;
        }
        case SCAN_BANG: {
            uint8_t c = b[i++];
            m->bang = c;
            m->state = c == '-' || c == '[' ? SCAN_BANG2 : c == '>' ? SCAN_TEXT : SCAN_DECL;
            break;
        }
        case SCAN_BANG2: {
            uint8_t c = b[i++];
            m->state = m->bang == '-' && c == '-'   ? SCAN_COMMENT
                       : m->bang == '[' && c == 'C' ? SCAN_CDATA
                       : c == '>'                   ? SCAN_TEXT
                                                    : SCAN_DECL;
            break;
        }
        case SCAN_TAG: {
            while (i < n && !tag_special[b[i]])
                i++;
            if (i == n)
                break;
            uint8_t c = b[i++];
            if (c == '"' || c == '\'') {
                m->quote = c;
                m->state = SCAN_QUOTED;
            } else if (c == '=') {
                if (++m->equals > MAX_ATTRIBUTES)
                    return false;
            } else {
                m->state = SCAN_TEXT;
            }
            break;
        }
        case SCAN_QUOTED: {
            const uint8_t *q = memchr(b + i, m->quote, n - i);
            i = q ? (size_t)(q - b) + 1 : n;
            if (q)
                m->state = SCAN_TAG;
            break;
        }
        case SCAN_COMMENT:
        case SCAN_CDATA:
        case SCAN_PI:
        case SCAN_DECL: {
            const uint8_t *gt = memchr(b + i, '>', n - i);
            if (!gt) {
                i = n;
                break;
            }
            size_t at = (size_t)(gt - b);
            if (ends_skipped(m, b, at))
                m->state = SCAN_TEXT;
            i = at + 1;
            break;
        }
        }
    }
    if (n >= 2) {
        m->last[0] = b[n - 2];
        m->last[1] = b[n - 1];
    } else if (n == 1) {
        m->last[0] = m->last[1];
        m->last[1] = b[0];
    }
    return true;
}

struct sne_parser {
    sne_parse_limits lim;
    sne_parser_callbacks cb;
    void *cb_ctx;
    xmlSAXHandler sax;
    xmlParserCtxtPtr xml; /* owned; one per document */
    uint8_t prefix[4];    /* first bytes of a document, held until the encoding can be sniffed */
    markup_scan scan;     /* attribute count of start tags, before libxml2 sees them */
    size_t prefix_len;
    char member[256];
    sne_error err;
    bool failed;

    /* Document structure. */
    size_t depth;
    size_t skip_depth; /* > 0: inside an ignored subtree whose root is at this depth */
    section section;
    bool seen_root, seen_entete, seen_pied;
    const xmlChar *names[SNE_CANON_MAX_DEPTH * 2]; /* local names of open elements (dictionary) */

    /* Text fields outside items. */
    field field;
    sne_buf text;

    /* The header. */
    sne_export_header hdr;
    char (*locations)[SNE_LOCATION_CODE_MAX + 1]; /* owned, SNE_MAX_LOCATIONS */
    bool etat_perimetre_seen;

    /* The demand being read. */
    sne_record *rec; /* owned; the callback may exchange it for another (parser.h) */
    bool demand_has_num, demand_has_etat, demand_has_date;
    bool demand_unrequested;
    int list_entity; /* entity of the keyed list open at depth 3, or -1 */

    /* The item being read. */
    bool in_item;
    sne_entity item_entity;
    size_t item_depth;
    bool in_key;
    sne_buf key;
    sne_canon_writer canon;

    uint64_t demand_count;
    uint64_t pied_count;
    uint64_t unrequested;
};

void sne_parse_limits_default(sne_parse_limits *l)
{
    l->max_text = 256 * 1024;
    l->max_item = 4 * 1024 * 1024;
    l->max_demand = 32 * 1024 * 1024;
    l->max_items = 100000;
    l->max_depth = 64;
    l->max_name = 256;
}

/* Records the first error with where it happened, and stops libxml2. */
static void fail(sne_parser *p, sne_err code, int lib_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(sne_parser *p, sne_err code, int lib_code, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int line = p->xml ? xmlSAX2GetLineNumber(p->xml) : 0;
    if (p->section == S_DEMANDE && p->demand_has_num)
        sne_error_set(&p->err, code, lib_code, "%s, line %d, demand %s: %s", p->member, line,
                      p->rec->demand.num_unique, what);
    else
        sne_error_set(&p->err, code, lib_code, "%s, line %d: %s", p->member, line, what);
    if (p->xml)
        xmlStopParser(p->xml);
}

/* Turns the detail a callback (or a check) left in p->err into a located error. */
static void fail_with_detail(sne_parser *p, sne_err rc)
{
    char detail[sizeof(p->err.message)];
    int lib_code = p->err.lib_code;
    snprintf(detail, sizeof(detail), "%s", p->err.code ? p->err.message : sne_strerror(rc));
    sne_error_clear(&p->err);
    fail(p, rc, lib_code, "%s", detail);
}

static bool is_sne(const xmlChar *uri)
{
    return uri && strcmp((const char *)uri, SNE_NAMESPACE) == 0;
}

static bool named(const xmlChar *name, const char *wanted)
{
    return strcmp((const char *)name, wanted) == 0;
}

/* The text gathered for the current field, trimmed, NUL-terminated. */
static const char *field_text(sne_parser *p, size_t *len)
{
    *len = 0;
    if (!p->text.data)
        return "";
    char *s = (char *)p->text.data;
    size_t n = p->text.len;
    while (n && strchr(" \t\r\n", s[0]))
        s++, n--;
    while (n && strchr(" \t\r\n", s[n - 1]))
        n--;
    s[n] = '\0'; /* inside the buffer: s + n <= data + len */
    *len = n;
    return s;
}

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

static bool valid_num_unique(const char *s, size_t n)
{
    if (n != SNE_NUM_UNIQUE_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

static bool copy_field(char *dst, size_t dst_size, const char *s, size_t n)
{
    if (n >= dst_size)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static void add_location(sne_parser *p, const char *code, size_t n)
{
    if (p->hdr.n_locations >= SNE_MAX_LOCATIONS) {
        fail(p, SNE_ERR_LIMIT, 0, "perimetre lists more than %d locations", SNE_MAX_LOCATIONS);
        return;
    }
    if (n == 0 || n >= sizeof(p->locations[0])) {
        fail(p, SNE_ERR_INVALID, 0, "perimetre holds an invalid location code");
        return;
    }
    memcpy(p->locations[p->hdr.n_locations], code, n);
    p->locations[p->hdr.n_locations][n] = '\0';
    p->hdr.n_locations++;
}

/* A field's text is complete: store it where it belongs. */
static void end_field(sne_parser *p)
{
    size_t n;
    const char *s = field_text(p, &n);
    field f = p->field;
    p->field = F_NONE;
    switch (f) {
    case F_NONE:
        return;
    case F_NUMERO:
        if (n == 0 || !copy_field(p->hdr.numero, sizeof(p->hdr.numero), s, n))
            fail(p, SNE_ERR_INVALID, 0, "entete/numeroExport is empty or too long");
        return;
    case F_DATE_EXPORT:
        if (!copy_field(p->hdr.date_export, sizeof(p->hdr.date_export), s, n) ||
            !sne_isotime_parse(p->hdr.date_export, &p->hdr.date_export_ms))
            fail(p, SNE_ERR_INVALID, 0, "entete/dateExport is not an xs:dateTime");
        return;
    case F_GUICHET:
        if (!copy_field(p->hdr.guichet, sizeof(p->hdr.guichet), s, n))
            fail(p, SNE_ERR_INVALID, 0, "entete/numGuichet is too long");
        return;
    case F_PARTIE:
        if (!parse_uint(s, 100000, &p->hdr.partie) || p->hdr.partie == 0)
            fail(p, SNE_ERR_INVALID, 0, "entete/partie is not a positive integer");
        return;
    case F_NOMBRE_PARTIES:
        if (!parse_uint(s, 100000, &p->hdr.nombre_parties) || p->hdr.nombre_parties == 0)
            fail(p, SNE_ERR_INVALID, 0, "entete/nombreParties is not a positive integer");
        return;
    case F_ENTITE: {
        int e = sne_entity_by_code(s, n);
        if (e < 0)
            fail(p, SNE_ERR_INVALID, 0, "perimetre names an unknown entity");
        else
            p->hdr.entities |= 1u << e;
        return;
    }
    case F_ETAT_PERIMETRE:
    case F_ETAT_DEMANDE: {
        bool radiee = strcmp(s, "RADIEE") == 0;
        if (!radiee && strcmp(s, "ACTIVE") != 0) {
            fail(p, SNE_ERR_INVALID, 0, "etatDemande is neither ACTIVE nor RADIEE");
        } else if (f == F_ETAT_PERIMETRE) {
            p->hdr.radiees = radiee;
            p->etat_perimetre_seen = true;
        } else {
            p->rec->demand.radiee = radiee;
            p->demand_has_etat = true;
        }
        return;
    }
    case F_DEPARTEMENT:
        add_location(p, s, n);
        return;
    case F_PROFONDEUR:
        if (!parse_uint(s, SNE_DRM_PERIODS, &p->hdr.profondeur_drm) || p->hdr.profondeur_drm == 0)
            fail(p, SNE_ERR_INVALID, 0, "perimetre/profondeurDrm is not 1, 2 or 3");
        return;
    case F_DERNIERE_PERIODE:
        if (!sne_period_parse(s, n, &p->hdr.derniere_periode_drm))
            fail(p, SNE_ERR_INVALID, 0, "perimetre/dernierePeriodeDrm is not a period (YYYY-MM)");
        return;
    case F_NOMBRE_DEMANDES: {
        unsigned count = 0;
        if (!parse_uint(s, 4000000000u, &count))
            fail(p, SNE_ERR_INVALID, 0, "pied/nombreDemandes is not an integer");
        p->pied_count = count;
        return;
    }
    case F_NUM_UNIQUE:
        if (!valid_num_unique(s, n)) {
            fail(p, SNE_ERR_INVALID, 0, "invalid numUnique (18 characters [0-9A-Z] expected)");
            return;
        }
        memcpy(p->rec->demand.num_unique, s, n + 1);
        p->demand_has_num = true;
        return;
    case F_DATE_MODIFICATION:
        if (!copy_field(p->rec->demand.date_modification, sizeof(p->rec->demand.date_modification),
                        s, n))
            fail(p, SNE_ERR_INVALID, 0, "dateDerniereModification is too long");
        p->demand_has_date = true;
        return;
    }
}

static void begin_field(sne_parser *p, field f)
{
    p->field = f;
    sne_buf_reset(&p->text);
}

static void skip_subtree(sne_parser *p)
{
    p->skip_depth = p->depth;
}

/* The value of the unqualified attribute `name` among SAX2 attributes, or NULL. */
static const xmlChar *attribute(const xmlChar **attrs, int n, const char *name, size_t *len)
{
    for (int i = 0; i < n; i++, attrs += 5) {
        if (attrs[2] == NULL && named(attrs[0], name)) {
            *len = (size_t)(attrs[4] - attrs[3]);
            return attrs[3];
        }
    }
    return NULL;
}

static void start_entete_element(sne_parser *p, const xmlChar *name, const xmlChar **attrs,
                                 int nattrs)
{
    const xmlChar *parent = p->names[p->depth - 2];
    if (p->depth == 3) {
        if (named(name, "numeroExport"))
            begin_field(p, F_NUMERO);
        else if (named(name, "dateExport"))
            begin_field(p, F_DATE_EXPORT);
        else if (named(name, "numGuichet"))
            begin_field(p, F_GUICHET);
        else if (named(name, "partie"))
            begin_field(p, F_PARTIE);
        else if (named(name, "nombreParties"))
            begin_field(p, F_NOMBRE_PARTIES);
        else if (!named(name, "perimetre"))
            skip_subtree(p);
    } else if (p->depth == 4 && named(parent, "perimetre")) {
        if (named(name, "etatDemande"))
            begin_field(p, F_ETAT_PERIMETRE);
        else if (named(name, "profondeurDrm"))
            begin_field(p, F_PROFONDEUR);
        else if (named(name, "dernierePeriodeDrm"))
            begin_field(p, F_DERNIERE_PERIODE);
        else if (named(name, "listeDepartement"))
            p->hdr.location = SNE_LOCATION_DEPARTEMENTS;
        else if (named(name, "listeCommune"))
            p->hdr.location = SNE_LOCATION_COMMUNES;
        else if (!named(name, "listeEntite"))
            skip_subtree(p);
    } else if (p->depth == 5 && named(parent, "listeEntite") && named(name, "entite")) {
        begin_field(p, F_ENTITE);
    } else if (p->depth == 5 && named(parent, "listeDepartement") && named(name, "departement")) {
        begin_field(p, F_DEPARTEMENT);
    } else if (p->depth == 5 && named(parent, "listeCommune") && named(name, "commune")) {
        size_t n;
        const xmlChar *code = attribute(attrs, nattrs, "code", &n);
        if (!code)
            fail(p, SNE_ERR_INVALID, 0, "perimetre/listeCommune/commune has no code");
        else
            add_location(p, (const char *)code, n);
    } else {
        skip_subtree(p);
    }
}

static sne_err deliver_header(sne_parser *p)
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

static void reset_demand(sne_parser *p)
{
    sne_record_begin(p->rec, p->member, p->lim.max_demand);
    p->demand_has_num = p->demand_has_etat = p->demand_has_date = false;
    p->demand_unrequested = false;
    p->list_entity = -1;
    p->rec->demand.line = (size_t)xmlSAX2GetLineNumber(p->xml);
}

static void start_item(sne_parser *p, sne_entity e, const xmlChar *name, const xmlChar **attrs,
                       int nattrs);
static void canon_open_element(sne_parser *p, const xmlChar *name, const xmlChar **attrs,
                               int nattrs);

static void start_demande_child(sne_parser *p, const xmlChar *name, const xmlChar **attrs,
                                int nattrs)
{
    if (p->depth == DEPTH_FIELD) {
        if (named(name, "numUnique")) {
            begin_field(p, F_NUM_UNIQUE);
            return;
        }
        if (named(name, "etatDemande")) {
            begin_field(p, F_ETAT_DEMANDE);
            return;
        }
        if (named(name, "dateDerniereModification")) {
            begin_field(p, F_DATE_MODIFICATION);
            return;
        }
        int e = sne_entity_by_block((const char *)name);
        if (e < 0) {
            skip_subtree(p); /* a later interface version's demand-level element */
            return;
        }
        if (!(p->hdr.entities & (1u << e))) {
            p->demand_unrequested = true;
            skip_subtree(p);
            return;
        }
        if (sne_entity_is_keyed((sne_entity)e))
            p->list_entity = e;
        else
            start_item(p, (sne_entity)e, name, attrs, nattrs);
        return;
    }
    /* depth 4: a member of a keyed list */
    if (p->list_entity >= 0 && named(name, sne_entity_info_of(p->list_entity)->item))
        start_item(p, (sne_entity)p->list_entity, name, attrs, nattrs);
    else
        skip_subtree(p);
}

static void start_item(sne_parser *p, sne_entity e, const xmlChar *name, const xmlChar **attrs,
                       int nattrs)
{
    p->in_item = true;
    p->item_entity = e;
    p->item_depth = p->depth;
    p->in_key = false;
    sne_buf_reset(&p->key);
    sne_canon_writer_reset(&p->canon);
    canon_open_element(p, name, attrs, nattrs);
}

static void fail_canon(sne_parser *p, sne_err rc)
{
    if (rc == SNE_ERR_LIMIT)
        fail(p, rc, 0, "%s item exceeds the size or depth limit",
             sne_entity_info_of(p->item_entity)->code);
    else if (rc == SNE_ERR_INVALID)
        fail(p, rc, 0, "control character in a %s item", sne_entity_info_of(p->item_entity)->code);
    else
        fail(p, rc, 0, "%s", sne_strerror(rc));
}

/* True when the open elements below the CERFA root are logementRecherche/
 * listeLocalisationSouhaitee/localisationSouhaitee and `name` is their commune. */
static bool is_sought_commune(const sne_parser *p, const xmlChar *name)
{
    size_t d = p->item_depth;
    return p->item_entity == SNE_ENTITY_CERFA && p->depth == d + 4 && named(name, "commune") &&
           named(p->names[d], "logementRecherche") &&
           named(p->names[d + 1], "listeLocalisationSouhaitee") &&
           named(p->names[d + 2], "localisationSouhaitee");
}

static void canon_open_element(sne_parser *p, const xmlChar *name, const xmlChar **attrs,
                               int nattrs)
{
    sne_canon_attr kept[MAX_ATTRIBUTES];
    size_t n = 0;
    size_t name_len = strlen((const char *)name);
    if (name_len > p->lim.max_name) {
        fail(p, SNE_ERR_LIMIT, 0, "element name longer than %zu bytes", p->lim.max_name);
        return;
    }
    for (int i = 0; i < nattrs; i++) {
        const xmlChar **a = attrs + 5 * i;
        if (a[2] != NULL)
            continue; /* attributes of other namespaces (xsi:, extensions) carry no data */
        if (n == sizeof(kept) / sizeof(kept[0])) {
            fail(p, SNE_ERR_LIMIT, 0, "element with more than %d attributes", MAX_ATTRIBUTES);
            return;
        }
        size_t value_len = (size_t)(a[4] - a[3]);
        size_t attr_name_len = strlen((const char *)a[0]);
        if (value_len > p->lim.max_text || attr_name_len > p->lim.max_name) {
            fail(p, SNE_ERR_LIMIT, 0, "attribute value or name over the size limit");
            return;
        }
        kept[n++] =
            (sne_canon_attr){(const char *)a[0], attr_name_len, (const char *)a[3], value_len};
    }
    if (!p->rec->demand.has_cerfa && is_sought_commune(p, name)) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(kept[i].name, "code") == 0 && kept[i].value_len == SNE_COMMUNE_LEN)
                sne_record_add_commune(p->rec, kept[i].value); /* the first ones are kept */
    }
    sne_err rc = sne_canon_open(&p->canon, (const char *)name, name_len, kept, n);
    if (rc)
        fail_canon(p, rc);
    if (p->depth == p->item_depth + 1 && sne_entity_is_keyed(p->item_entity) &&
        named(name, sne_entity_info_of(p->item_entity)->key))
        p->in_key = true;
}

static void end_item(sne_parser *p)
{
    p->in_item = false;
    const sne_buf *out = &p->canon.out;
    if (sne_canon_is_empty(&p->canon))
        return; /* an empty element is the same as an absent one */
    const sne_entity_info *info = sne_entity_info_of(p->item_entity);
    size_t key_len = 0;
    const char *key = "";
    if (info->key[0]) {
        key = p->key.data ? (const char *)p->key.data : "";
        key_len = p->key.len;
        while (key_len && strchr(" \t\r\n", key[0]))
            key++, key_len--;
        while (key_len && strchr(" \t\r\n", key[key_len - 1]))
            key_len--;
        if (key_len == 0) {
            fail(p, SNE_ERR_INVALID, 0, "%s item without %s", info->code, info->key);
            return;
        }
        if (key_len > SNE_MAX_KEY_LEN || memchr(key, '\0', key_len)) {
            fail(p, SNE_ERR_INVALID, 0, "%s item with an invalid %s", info->code, info->key);
            return;
        }
    }
    sne_demand *d = &p->rec->demand;
    if (d->n_items >= p->lim.max_items) {
        fail(p, SNE_ERR_LIMIT, 0, "demand with more than %zu items", p->lim.max_items);
        return;
    }
    sne_err rc = sne_record_add_item(p->rec, p->item_entity, key, key_len, out->data, out->len,
                                     XXH3_64bits(out->data, out->len));
    if (rc == SNE_ERR_LIMIT) {
        fail(p, rc, 0, "demand larger than the %zu-byte limit", p->lim.max_demand);
        return;
    }
    if (rc) {
        fail(p, rc, 0, "out of memory");
        return;
    }
    if (p->item_entity == SNE_ENTITY_CERFA)
        d->has_cerfa = true;
}

static void end_demand(sne_parser *p)
{
    if (!p->demand_has_num || !p->demand_has_etat) {
        fail(p, SNE_ERR_INVALID, 0, "demande without numUnique or etatDemande");
        return;
    }
    size_t dup = sne_record_seal(p->rec);
    if (dup) {
        const sne_entity_info *info = sne_entity_info_of(p->rec->items[dup].entity);
        fail(p, SNE_ERR_INVALID, 0, "two %s items with the same %s", info->code,
             info->key[0] ? info->key : "block");
        return;
    }
    if (p->demand_unrequested)
        p->unrequested++;
    p->demand_count++;
    sne_err rc = p->cb.on_demand ? p->cb.on_demand(p->cb_ctx, &p->rec, &p->err) : SNE_OK;
    if (rc)
        fail_with_detail(p, rc);
}

static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    (void)prefix, (void)nb_namespaces, (void)namespaces, (void)nb_defaulted;
    sne_parser *p = ctx;
    if (p->failed)
        return;
    p->depth++;
    if (p->depth > p->lim.max_depth || p->depth > sizeof(p->names) / sizeof(p->names[0])) {
        fail(p, SNE_ERR_LIMIT, 0, "elements nested deeper than %zu", p->lim.max_depth);
        return;
    }
    p->names[p->depth - 1] = localname;
    if (p->skip_depth)
        return;
    if (!is_sne(uri)) {
        if (p->depth == 1)
            fail(p, SNE_ERR_INVALID, 0, "the root element is not in the %s namespace",
                 SNE_NAMESPACE);
        skip_subtree(p); /* extensions of a deployment carry no data */
        return;
    }
    if (p->in_item) {
        canon_open_element(p, localname, attributes, nb_attributes);
        return;
    }
    switch (p->depth) {
    case 1:
        if (!named(localname, "exportNuu"))
            fail(p, SNE_ERR_INVALID, 0, "the root element is not exportNuu");
        p->seen_root = true;
        return;
    case DEPTH_SECTION:
        if (named(localname, "entete")) {
            if (p->seen_entete)
                fail(p, SNE_ERR_INVALID, 0, "a second entete");
            p->section = S_ENTETE;
        } else if (named(localname, "demande")) {
            if (!p->seen_entete || p->seen_pied)
                fail(p, SNE_ERR_INVALID, 0, "demande outside entete..pied");
            p->section = S_DEMANDE;
            reset_demand(p);
        } else if (named(localname, "pied")) {
            if (!p->seen_entete || p->seen_pied)
                fail(p, SNE_ERR_INVALID, 0, "pied misplaced");
            p->section = S_PIED;
        } else {
            skip_subtree(p);
        }
        return;
    default:
        if (p->section == S_ENTETE)
            start_entete_element(p, localname, attributes, nb_attributes);
        else if (p->section == S_DEMANDE)
            start_demande_child(p, localname, attributes, nb_attributes);
        else if (p->section == S_PIED && p->depth == DEPTH_FIELD &&
                 named(localname, "nombreDemandes"))
            begin_field(p, F_NOMBRE_DEMANDES);
        else
            skip_subtree(p);
    }
}

static void on_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    sne_parser *p = ctx;
    if (p->failed)
        return;
    size_t depth = p->depth--;
    if (p->skip_depth) {
        if (depth == p->skip_depth)
            p->skip_depth = 0;
        return;
    }
    if (p->in_item) {
        if (p->in_key && depth == p->item_depth + 1)
            p->in_key = false;
        sne_err rc = sne_canon_close(&p->canon);
        if (rc)
            fail_canon(p, rc);
        else if (depth == p->item_depth)
            end_item(p);
        return;
    }
    if (p->field != F_NONE) {
        end_field(p);
        return;
    }
    if (depth == DEPTH_FIELD && p->section == S_DEMANDE)
        p->list_entity = -1;
    if (depth != DEPTH_SECTION)
        return;
    if (p->section == S_ENTETE) {
        sne_err rc = deliver_header(p);
        if (rc)
            fail_with_detail(p, rc);
    } else if (p->section == S_DEMANDE) {
        end_demand(p);
    } else if (p->section == S_PIED) {
        p->seen_pied = true;
    }
    p->section = S_NONE;
}

static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    sne_parser *p = ctx;
    if (p->failed || p->skip_depth)
        return;
    sne_err rc = SNE_OK;
    if (p->in_item) {
        rc = sne_canon_text(&p->canon, ch, (size_t)len);
        if (!rc && p->in_key)
            rc = sne_buf_append(&p->key, ch, (size_t)len);
    } else if (p->field != F_NONE) {
        rc = sne_buf_append(&p->text, ch, (size_t)len);
    }
    if (rc == SNE_ERR_LIMIT)
        fail(p, rc, 0, "text value longer than %zu bytes", p->lim.max_text);
    else if (rc)
        fail(p, rc, 0, "%s", sne_strerror(rc));
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)name, (void)external_id, (void)system_id;
    fail(ctx, SNE_ERR_XML, 0, "a DOCTYPE is not allowed in an export (entities are never loaded)");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name, (void)type, (void)public_id, (void)system_id, (void)content;
    fail(ctx, SNE_ERR_XML, 0, "entity declarations are not allowed in an export");
}

static void on_xml_error(void *ctx, xmlErrorPtr error)
{
    sne_parser *p = ctx;
    if (!error || error->level < XML_ERR_ERROR)
        return;
    /* Keep the first line only: later lines of some messages quote input bytes. */
    char message[200];
    snprintf(message, sizeof(message), "%s", error->message ? error->message : "XML error");
    message[strcspn(message, "\n")] = '\0';
    fail(p, SNE_ERR_XML, error->code, "malformed XML: %s", message);
}

sne_parser *sne_parser_new(const sne_parse_limits *limits, const sne_parser_callbacks *cb,
                           void *ctx)
{
    sne_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (limits)
        p->lim = *limits;
    else
        sne_parse_limits_default(&p->lim);
    p->cb = *cb;
    p->cb_ctx = ctx;
    p->locations = calloc(SNE_MAX_LOCATIONS, sizeof(*p->locations));
    p->rec = sne_record_new();
    if (!p->locations || !p->rec) {
        free(p->locations);
        sne_record_free(p->rec);
        free(p);
        return NULL;
    }
    sne_buf_init(&p->text, p->lim.max_text);
    sne_buf_init(&p->key, p->lim.max_text);
    sne_canon_writer_init(&p->canon, p->lim.max_item, p->lim.max_text);

    xmlSAXHandler *sax = &p->sax;
    memset(sax, 0, sizeof(*sax));
    sax->initialized = XML_SAX2_MAGIC;
    sax->startElementNs = on_start_element;
    sax->endElementNs = on_end_element;
    sax->characters = on_characters;
    sax->cdataBlock = on_characters;
    sax->ignorableWhitespace = on_characters;
    sax->internalSubset = on_internal_subset;
    sax->externalSubset = on_internal_subset;
    sax->entityDecl = on_entity_decl;
    sax->serror = on_xml_error;
    return p;
}

static void close_document(sne_parser *p)
{
    if (p->xml) {
        xmlFreeParserCtxt(p->xml);
        p->xml = NULL;
    }
}

void sne_parser_free(sne_parser *p)
{
    if (!p)
        return;
    close_document(p);
    sne_buf_free(&p->text);
    sne_buf_free(&p->key);
    sne_canon_writer_free(&p->canon);
    sne_record_free(p->rec);
    free(p->locations);
    free(p);
}

sne_err sne_parser_begin(sne_parser *p, const char *member)
{
    close_document(p);
    snprintf(p->member, sizeof(p->member), "%s", member);
    sne_error_clear(&p->err);
    p->failed = false;
    p->prefix_len = 0;
    memset(&p->scan, 0, sizeof(p->scan));
    p->depth = p->skip_depth = 0;
    p->section = S_NONE;
    p->seen_root = p->seen_entete = p->seen_pied = false;
    p->field = F_NONE;
    memset(&p->hdr, 0, sizeof(p->hdr));
    p->etat_perimetre_seen = false;
    p->in_item = p->in_key = false;
    p->demand_count = p->pied_count = 0;
    p->unrequested = 0;
    return SNE_OK;
}

/* Creates the libxml2 context once the first bytes (for encoding detection) are known. */
static sne_err open_document(sne_parser *p, const uint8_t *head, size_t n)
{
    p->xml = xmlCreatePushParserCtxt(&p->sax, p, (const char *)head, (int)n, p->member);
    if (!p->xml)
        return sne_error_set(&p->err, SNE_ERR_NOMEM, 0, "%s: cannot create an XML parser",
                             p->member);
    /* NOENT substitutes the predefined entities and character references in attribute values
     * too; no other entity can exist because DTDs stop the parse. NONET forbids any fetch. */
    xmlCtxtUseOptions(p->xml, XML_PARSE_NOENT | XML_PARSE_NONET);
    return SNE_OK;
}

static sne_err chunk(sne_parser *p, const void *data, size_t n, int terminate)
{
    while (n > 0 || terminate) {
        int part = n > (1u << 30) ? (1 << 30) : (int)n;
        int rc = xmlParseChunk(p->xml, data, part, terminate && (size_t)part == n);
        if (p->failed)
            return p->err.code;
        if (rc != 0) {
            fail(p, SNE_ERR_XML, rc, "malformed XML");
            return p->err.code;
        }
        n -= (size_t)part;
        if (n == 0)
            break;
        data = (const uint8_t *)data + part;
    }
    return SNE_OK;
}

sne_err sne_parser_feed(sne_parser *p, const void *data, size_t n)
{
    if (p->failed)
        return p->err.code;
    if (!scan_markup(&p->scan, data, n)) {
        fail(p, SNE_ERR_LIMIT, 0, "a start tag with more than %d attributes", MAX_ATTRIBUTES);
        return p->err.code;
    }
    if (!p->xml) {
        size_t take = sizeof(p->prefix) - p->prefix_len;
        if (take > n)
            take = n;
        memcpy(p->prefix + p->prefix_len, data, take);
        p->prefix_len += take;
        data = (const uint8_t *)data + take;
        n -= take;
        if (p->prefix_len < sizeof(p->prefix))
            return SNE_OK;
        sne_err rc = open_document(p, p->prefix, p->prefix_len);
        if (rc)
            return rc;
        if (p->failed)
            return p->err.code;
    }
    return n ? chunk(p, data, n, 0) : SNE_OK;
}

sne_err sne_parser_end(sne_parser *p)
{
    if (p->failed)
        return p->err.code;
    if (!p->xml) {
        sne_err rc = open_document(p, p->prefix, p->prefix_len);
        if (rc)
            return rc;
    }
    sne_err rc = chunk(p, NULL, 0, 1);
    if (rc)
        return rc;
    if (!p->seen_root || !p->seen_entete)
        rc = sne_error_set(&p->err, SNE_ERR_INVALID, 0, "%s: not an export document (no entete)",
                           p->member);
    else if (!p->seen_pied)
        rc = sne_error_set(&p->err, SNE_ERR_INCOMPLETE, 0, "%s: no pied/nombreDemandes", p->member);
    else if (p->pied_count != p->demand_count)
        rc = sne_error_set(&p->err, SNE_ERR_INCOMPLETE, 0,
                           "%s: pied/nombreDemandes says %llu demands, the document holds %llu",
                           p->member, (unsigned long long)p->pied_count,
                           (unsigned long long)p->demand_count);
    close_document(p);
    return rc;
}

uint64_t sne_parser_demand_count(const sne_parser *p)
{
    return p->demand_count;
}

uint64_t sne_parser_unrequested_count(const sne_parser *p)
{
    return p->unrequested;
}

const sne_error *sne_parser_error(const sne_parser *p)
{
    return &p->err;
}
