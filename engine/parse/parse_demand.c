/* parse_demand.c: a demande of an export document: its fields (numUnique, etatDemande,
 * dateDerniereModification), its items canonicalised (canon.h) and hashed as they are read, the
 * sought communes noted for scope decisions, and the record sealed and handed to on_demand.
 * Entities the perimetre did not request are skipped and counted. */
#include "parser_internal.h"

#include <libxml/SAX2.h>
#include <xxhash.h>

static bool valid_num_unique(const char *s, size_t n)
{
    if (n != SNE_NUM_UNIQUE_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

void sne_parse_demand_begin(sne_parser *p)
{
    sne_record_begin(p->rec, p->member, p->lim.max_demand);
    p->demand_has_num = p->demand_has_etat = p->demand_has_date = false;
    p->demand_unrequested = false;
    p->list_entity = -1;
    p->rec->demand.line = (size_t)xmlSAX2GetLineNumber(p->xml);
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
    sne_parse_item_start(p, name, attrs, nattrs);
}

static void fail_canon(sne_parser *p, sne_err rc)
{
    if (rc == SNE_ERR_LIMIT)
        sne_parse_fail(p, rc, 0, "%s item exceeds the size or depth limit",
                       sne_entity_info_of(p->item_entity)->code);
    else if (rc == SNE_ERR_INVALID)
        sne_parse_fail(p, rc, 0, "control character in a %s item",
                       sne_entity_info_of(p->item_entity)->code);
    else
        sne_parse_fail(p, rc, 0, "%s", sne_strerror(rc));
}

/* True when the open elements below the CERFA root are logementRecherche/
 * listeLocalisationSouhaitee/localisationSouhaitee and `name` is their commune. */
static bool is_sought_commune(const sne_parser *p, const xmlChar *name)
{
    size_t d = p->item_depth;
    return p->item_entity == SNE_ENTITY_CERFA && p->depth == d + 4 &&
           sne_parse_named(name, "commune") && sne_parse_named(p->names[d], "logementRecherche") &&
           sne_parse_named(p->names[d + 1], "listeLocalisationSouhaitee") &&
           sne_parse_named(p->names[d + 2], "localisationSouhaitee");
}

void sne_parse_item_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs)
{
    sne_canon_attr kept[SNE_MARKUP_MAX_ATTRIBUTES];
    size_t n = 0;
    size_t name_len = strlen((const char *)name);
    if (name_len > p->lim.max_name) {
        sne_parse_fail(p, SNE_ERR_LIMIT, 0, "element name longer than %zu bytes", p->lim.max_name);
        return;
    }
    for (int i = 0; i < nattrs; i++) {
        const xmlChar **a = attrs + 5 * i;
        if (a[2] != NULL)
            continue; /* attributes of other namespaces (xsi:, extensions) carry no data */
        if (n == sizeof(kept) / sizeof(kept[0])) {
            sne_parse_fail(p, SNE_ERR_LIMIT, 0, "element with more than %d attributes",
                           SNE_MARKUP_MAX_ATTRIBUTES);
            return;
        }
        size_t value_len = (size_t)(a[4] - a[3]);
        size_t attr_name_len = strlen((const char *)a[0]);
        if (value_len > p->lim.max_text || attr_name_len > p->lim.max_name) {
            sne_parse_fail(p, SNE_ERR_LIMIT, 0, "attribute value or name over the size limit");
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
        sne_parse_named(name, sne_entity_info_of(p->item_entity)->key))
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
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "%s item without %s", info->code, info->key);
            return;
        }
        if (key_len > SNE_MAX_KEY_LEN || memchr(key, '\0', key_len)) {
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "%s item with an invalid %s", info->code,
                           info->key);
            return;
        }
    }
    sne_demand *d = &p->rec->demand;
    if (d->n_items >= p->lim.max_items) {
        sne_parse_fail(p, SNE_ERR_LIMIT, 0, "demand with more than %zu items", p->lim.max_items);
        return;
    }
    sne_err rc = sne_record_add_item(p->rec, p->item_entity, key, key_len, out->data, out->len,
                                     XXH3_64bits(out->data, out->len));
    if (rc == SNE_ERR_LIMIT) {
        sne_parse_fail(p, rc, 0, "demand larger than the %zu-byte limit", p->lim.max_demand);
        return;
    }
    if (rc) {
        sne_parse_fail(p, rc, 0, "out of memory");
        return;
    }
    if (p->item_entity == SNE_ENTITY_CERFA)
        d->has_cerfa = true;
}

void sne_parse_demand_end(sne_parser *p)
{
    if (!p->demand_has_num || !p->demand_has_etat) {
        sne_parse_fail(p, SNE_ERR_INVALID, 0, "demande without numUnique or etatDemande");
        return;
    }
    size_t dup = sne_record_seal(p->rec);
    if (dup) {
        const sne_entity_info *info = sne_entity_info_of(p->rec->items[dup].entity);
        sne_parse_fail(p, SNE_ERR_INVALID, 0, "two %s items with the same %s", info->code,
                       info->key[0] ? info->key : "block");
        return;
    }
    if (p->demand_unrequested)
        p->unrequested++;
    p->demand_count++;
    sne_err rc = p->cb.on_demand ? p->cb.on_demand(p->cb_ctx, &p->rec, &p->err) : SNE_OK;
    if (rc)
        sne_parse_fail_with_detail(p, rc);
}

void sne_parse_demand_start(sne_parser *p, const xmlChar *name, const xmlChar **attrs, int nattrs)
{
    if (p->depth == DEPTH_FIELD) {
        if (sne_parse_named(name, "numUnique")) {
            sne_parse_begin_field(p, F_NUM_UNIQUE);
            return;
        }
        if (sne_parse_named(name, "etatDemande")) {
            sne_parse_begin_field(p, F_ETAT_DEMANDE);
            return;
        }
        if (sne_parse_named(name, "dateDerniereModification")) {
            sne_parse_begin_field(p, F_DATE_MODIFICATION);
            return;
        }
        int e = sne_entity_by_block((const char *)name);
        if (e < 0) {
            sne_parse_skip_subtree(p); /* a later interface version's demand-level element */
            return;
        }
        if (!(p->hdr.entities & (1u << e))) {
            p->demand_unrequested = true;
            sne_parse_skip_subtree(p);
            return;
        }
        if (sne_entity_is_keyed((sne_entity)e))
            p->list_entity = e;
        else
            start_item(p, (sne_entity)e, name, attrs, nattrs);
        return;
    }
    /* depth 4: a member of a keyed list */
    if (p->list_entity >= 0 && sne_parse_named(name, sne_entity_info_of(p->list_entity)->item))
        start_item(p, (sne_entity)p->list_entity, name, attrs, nattrs);
    else
        sne_parse_skip_subtree(p);
}

void sne_parse_demand_field(sne_parser *p, field f, const char *s, size_t n)
{
    sne_demand *d = &p->rec->demand;
    switch (f) {
    case F_NUM_UNIQUE:
        if (!valid_num_unique(s, n)) {
            sne_parse_fail(p, SNE_ERR_INVALID, 0,
                           "invalid numUnique (18 characters [0-9A-Z] expected)");
            return;
        }
        memcpy(d->num_unique, s, n + 1);
        p->demand_has_num = true;
        return;
    case F_ETAT_DEMANDE:
        if (sne_parse_etat(p, s, &d->radiee))
            p->demand_has_etat = true;
        return;
    case F_DATE_MODIFICATION:
        if (!sne_parse_copy_field(d->date_modification, sizeof(d->date_modification), s, n))
            sne_parse_fail(p, SNE_ERR_INVALID, 0, "dateDerniereModification is too long");
        p->demand_has_date = true;
        return;
    default:
        return;
    }
}

void sne_parse_item_text(sne_parser *p, const xmlChar *ch, size_t len)
{
    sne_err rc = sne_canon_text(&p->canon, ch, len);
    if (!rc && p->in_key)
        rc = sne_buf_append(&p->key, ch, len);
    if (rc == SNE_ERR_LIMIT)
        sne_parse_fail(p, rc, 0, "text value longer than %zu bytes", p->lim.max_text);
    else if (rc)
        sne_parse_fail(p, rc, 0, "%s", sne_strerror(rc));
}

void sne_parse_item_end(sne_parser *p, size_t depth)
{
    if (p->in_key && depth == p->item_depth + 1)
        p->in_key = false;
    sne_err rc = sne_canon_close(&p->canon);
    if (rc)
        fail_canon(p, rc);
    else if (depth == p->item_depth)
        end_item(p);
}
