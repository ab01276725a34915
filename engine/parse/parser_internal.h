/* parser_internal.h: what the files of the export parser share (parser.h is its interface).
 *
 *     parser.c         the document: libxml2's push parser driven, SAX events dispatched by
 *                      section, errors located (member, line, demand), the end checks
 *     parse_header.c   the entete: export number, date, parts, perimetre; the pied's count
 *     parse_demand.c   a demande: its fields, its items canonicalised and hashed, the record
 *                      sealed and handed over
 *     markup_guard.c   the raw bytes' attribute count, before libxml2 sees them
 *
 * Errors go through sne_parse_fail(), once: the first stops libxml2, later ones are dropped. */
#ifndef SNE_PARSER_INTERNAL_H
#define SNE_PARSER_INTERNAL_H

#include "../canon/canon.h"
#include "../common/buffer.h"
#include "markup_guard.h"
#include "parser.h"

#include <libxml/parser.h>
#include <string.h>

/* Depths in the document: 1 exportNuu, 2 entete/demande/pied, 3 their children, ... */
enum { DEPTH_SECTION = 2, DEPTH_FIELD = 3 };

/* The text fields the parser captures outside items: the header's (and the pied's count), then
 * from F_NUM_UNIQUE on, a demand's. */
typedef enum field {
    F_NONE,
    F_NUMERO,
    F_DATE_EXPORT,
    F_PARTIE,
    F_NOMBRE_PARTIES,
    F_ENTITE,
    F_ETAT_PERIMETRE,
    F_DEPARTEMENT,
    F_PROFONDEUR,
    F_DERNIERE_PERIODE,
    F_NOMBRE_DEMANDES,
    F_NUM_UNIQUE, /* the first of a demand's */
    F_ETAT_DEMANDE,
    F_DATE_MODIFICATION
} field;

typedef enum section { S_NONE, S_ENTETE, S_DEMANDE, S_PIED } section;

struct sne_parser {
    sne_parse_limits lim;
    sne_parser_callbacks cb;
    void *cb_ctx;
    xmlSAXHandler sax;
    xmlParserCtxtPtr xml;   /* owned; one per document */
    const xmlChar *sne_uri; /* SNE_NAMESPACE in xml's dictionary, where libxml2 takes the URIs it
                               reports from: one pointer comparison per element (NULL: none) */
    uint8_t prefix[4];      /* first bytes of a document, held until the encoding can be sniffed */
    sne_markup_guard guard; /* attribute count of start tags, before libxml2 sees them */
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

/* --- parser.c --------------------------------------------------------------------------------- */

/* Records the first error with where it happened (member, line, demand), and stops libxml2. */
void sne_parse_fail(sne_parser *p, sne_err code, int lib_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Turns the detail a callback left in p->err (or the code's text) into a located error. */
void sne_parse_fail_with_detail(sne_parser *p, sne_err rc);

/* Copies the n bytes at s and a NUL into dst; false when they do not fit. */
bool sne_parse_copy_field(char *dst, size_t dst_size, const char *s, size_t n);

/* An etatDemande value: *radiee for RADIEE, false for ACTIVE; anything else fails the parse. */
bool sne_parse_etat(sne_parser *p, const char *s, bool *radiee);

static inline bool sne_parse_named(const xmlChar *name, const char *wanted)
{
    return strcmp((const char *)name, wanted) == 0;
}

/* The text of the element just opened is field f: gathered until it closes. */
static inline void sne_parse_begin_field(sne_parser *p, field f)
{
    p->field = f;
    sne_buf_reset(&p->text);
}

/* The element just opened, and all it holds, carries nothing the parser reads. */
static inline void sne_parse_skip_subtree(sne_parser *p)
{
    p->skip_depth = p->depth;
}

/* --- parse_header.c --------------------------------------------------------------------------- */

/* An element opened inside entete (depth 3 and below). */
void sne_parse_header_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs);
/* A header field (or the pied's count) is complete: its trimmed text s, n bytes. */
void sne_parse_header_field(sne_parser *p, field f, const char *s, size_t n);
/* entete is closed: checks it holds what the contract requires, then calls on_header. */
sne_err sne_parse_header_deliver(sne_parser *p);

/* --- parse_demand.c --------------------------------------------------------------------------- */

/* demande is opened: the record starts afresh. */
void sne_parse_demand_begin(sne_parser *p);
/* An element opened inside demande, outside an item (depth 3 and 4). */
void sne_parse_demand_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs);
/* A demand field is complete: its trimmed text s, n bytes. */
void sne_parse_demand_field(sne_parser *p, field f, const char *s, size_t n);
/* demande is closed: the record is sealed and handed to on_demand. */
void sne_parse_demand_end(sne_parser *p);

/* Inside an item: an element opened, text, an element closed (`depth` its depth). */
void sne_parse_item_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs);
void sne_parse_item_text(sne_parser *p, const xmlChar *ch, size_t len);
void sne_parse_item_end(sne_parser *p, size_t depth);

#endif
