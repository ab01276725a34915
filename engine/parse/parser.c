/* parser.c: one export document in, sealed demand records out (parser.h): libxml2's SAX2 push
 * parser fed the decompressed bytes behind the markup guard, its events dispatched by section to
 * the entete (parse_header.c) and the demands (parse_demand.c), and the document's end checked
 * against the pied. */
#include "parser_internal.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sne_parse_limits_default(sne_parse_limits *l)
{
    l->max_text = 256 * 1024;
    l->max_item = 4 * 1024 * 1024;
    l->max_demand = 32 * 1024 * 1024;
    l->max_items = 100000;
    l->max_depth = 64;
    l->max_name = 256;
}

/* --- errors ---------------------------------------------------------------------------------- */

void sne_parse_fail(sne_parser *p, sne_err code, int lib_code, const char *fmt, ...)
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

void sne_parse_fail_with_detail(sne_parser *p, sne_err rc)
{
    char detail[sizeof(p->err.message)];
    int lib_code = p->err.lib_code;
    snprintf(detail, sizeof(detail), "%s", p->err.code ? p->err.message : sne_strerror(rc));
    sne_error_clear(&p->err);
    sne_parse_fail(p, rc, lib_code, "%s", detail);
}

bool sne_parse_copy_field(char *dst, size_t dst_size, const char *s, size_t n)
{
    if (n >= dst_size)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* --- SAX events ------------------------------------------------------------------------------ */

/* The interned pointer answers for every element of the namespace; strcmp only for others. */
static bool is_sne(const sne_parser *p, const xmlChar *uri)
{
    return uri && (uri == p->sne_uri || strcmp((const char *)uri, SNE_NAMESPACE) == 0);
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

bool sne_parse_etat(sne_parser *p, const char *s, bool *radiee)
{
    bool is_radiee = strcmp(s, "RADIEE") == 0;
    if (!is_radiee && strcmp(s, "ACTIVE") != 0) {
        sne_parse_fail(p, SNE_ERR_INVALID, 0, "etatDemande is neither ACTIVE nor RADIEE");
        return false;
    }
    *radiee = is_radiee;
    return true;
}

/* A field's text is complete: it goes where it belongs. */
static void end_field(sne_parser *p)
{
    size_t n;
    const char *s = field_text(p, &n);
    field f = p->field;
    p->field = F_NONE;
    if (f >= F_NUM_UNIQUE)
        sne_parse_demand_field(p, f, s, n);
    else if (f != F_NONE)
        sne_parse_header_field(p, f, s, n);
}

/* An element opened in the root: the section it begins. */
static void start_section(sne_parser *p, const xmlChar *name)
{
    if (sne_parse_named(name, "entete")) {
        if (p->seen_entete)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "a second entete");
        p->section = S_ENTETE;
    } else if (sne_parse_named(name, "demande")) {
        if (!p->seen_entete || p->seen_pied)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "demande outside entete..pied");
        p->section = S_DEMANDE;
        sne_parse_demand_begin(p);
    } else if (sne_parse_named(name, "pied")) {
        if (!p->seen_entete || p->seen_pied)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "pied misplaced");
        p->section = S_PIED;
    } else {
        sne_parse_skip_subtree(p);
    }
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
        sne_parse_fail(p, SNE_ERR_LIMIT, 0, "elements nested deeper than %zu", p->lim.max_depth);
        return;
    }
    p->names[p->depth - 1] = localname;
    if (p->skip_depth)
        return;
    if (!is_sne(p, uri)) {
        if (p->depth == 1)
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "the root element is not in the %s namespace",
                           SNE_NAMESPACE);
        sne_parse_skip_subtree(p); /* extensions of a deployment carry no data */
        return;
    }
    if (p->in_item) {
        sne_parse_item_start(p, localname, attributes, nb_attributes);
        return;
    }
    switch (p->depth) {
    case 1:
        if (!sne_parse_named(localname, "exportNuu"))
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "the root element is not exportNuu");
        p->seen_root = true;
        return;
    case DEPTH_SECTION:
        start_section(p, localname);
        return;
    default:
        if (p->section == S_ENTETE)
            sne_parse_header_start(p, localname, attributes, nb_attributes);
        else if (p->section == S_DEMANDE)
            sne_parse_demand_start(p, localname, attributes, nb_attributes);
        else if (p->section == S_PIED && p->depth == DEPTH_FIELD &&
                 sne_parse_named(localname, "nombreDemandes"))
            sne_parse_begin_field(p, F_NOMBRE_DEMANDES);
        else
            sne_parse_skip_subtree(p);
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
        sne_parse_item_end(p, depth);
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
        sne_err rc = sne_parse_header_deliver(p);
        if (rc)
            sne_parse_fail_with_detail(p, rc);
    } else if (p->section == S_DEMANDE) {
        sne_parse_demand_end(p);
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
    if (p->in_item) {
        sne_parse_item_text(p, ch, (size_t)len);
        return;
    }
    if (p->field == F_NONE)
        return;
    sne_err rc = sne_buf_append(&p->text, ch, (size_t)len);
    if (rc == SNE_ERR_LIMIT)
        sne_parse_fail(p, rc, 0, "text value longer than %zu bytes", p->lim.max_text);
    else if (rc)
        sne_parse_fail(p, rc, 0, "%s", sne_strerror(rc));
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)name, (void)external_id, (void)system_id;
    sne_parse_fail(ctx, SNE_ERR_XML, 0,
                   "a DOCTYPE is not allowed in an export (entities are never loaded)");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name, (void)type, (void)public_id, (void)system_id, (void)content;
    sne_parse_fail(ctx, SNE_ERR_XML, 0, "entity declarations are not allowed in an export");
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
    sne_parse_fail(p, SNE_ERR_XML, error->code, "malformed XML: %s", message);
}

/* --- the document ---------------------------------------------------------------------------- */

/* libxml2's global state (encoding handlers, its mutexes) must be set up once, before threads use
 * it: left to be done lazily, readers parsing at once (follow's) race to make it (LeakSanitizer
 * saw the losers' copies). */
static pthread_once_t xml_library_ready = PTHREAD_ONCE_INIT;

static void init_xml_library(void)
{
    xmlInitParser();
}

sne_parser *sne_parser_new(const sne_parse_limits *limits, const sne_parser_callbacks *cb,
                           void *ctx)
{
    pthread_once(&xml_library_ready, init_xml_library);
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
        p->sne_uri = NULL;
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
    sne_markup_guard_reset(&p->guard);
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
    p->sne_uri = p->xml->dict ? xmlDictLookup(p->xml->dict, BAD_CAST SNE_NAMESPACE, -1) : NULL;
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
            sne_parse_fail(p, SNE_ERR_XML, rc, "malformed XML");
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
    if (!sne_markup_guard_scan(&p->guard, data, n)) {
        sne_parse_fail(p, SNE_ERR_LIMIT, 0, "a start tag with more than %d attributes",
                       SNE_MARKUP_MAX_ATTRIBUTES);
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
