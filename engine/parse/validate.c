/* validate.c: checking export documents against the XSD (schema/export.xsd), on request
 * (sne_validator, public: snesync.h).
 *
 * Ingest does not need the XSD: the parser checks what the engine relies on and treats unknown
 * elements as data. Validation is for a person who wants to know whether an archive honours the
 * contract to the letter. It streams (libxml2 xmlTextReader with the schema plugged in), so an
 * archive of any size validates in bounded memory. DTDs, entities and the network stay off. */
#include "../common/error.h"
#include "../unpack/unpack.h"
#include "snesync.h"

#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sne_validator {
    xmlSchemaPtr schema; /* owned */
};

/* The first error libxml2 reports while validating one document. */
typedef struct first_error {
    bool set;
    int line;
    int code;
    char message[200];
} first_error;

/* Schema messages quote the offending value ("The value '...' is not accepted", "Element 'x':
 * '...' is not a valid value"): the value may be personal data, so it is cut out. */
static void redact_values(const char *in, char *out, size_t size)
{
    size_t o = 0;
    while (*in && o + 1 < size) {
        bool quoted_value = strncmp(in, "value '", 7) == 0 || strncmp(in, ": '", 3) == 0;
        if (!quoted_value) {
            out[o++] = *in++;
            continue;
        }
        const char *quote = strchr(in, '\'');
        const char *end = strchr(quote + 1, '\'');
        if (!end)
            break;
        int n = snprintf(out + o, size - o, "%.*s(value withheld)", (int)(quote - in), in);
        o = n < 0 || (size_t)n >= size - o ? size - 1 : o + (size_t)n;
        in = end + 1;
    }
    out[o] = '\0';
}

static void keep_first_error(void *ctx, xmlErrorPtr e)
{
    first_error *fe = ctx;
    if (fe->set || !e || e->level < XML_ERR_ERROR)
        return;
    fe->set = true;
    fe->line = e->line;
    fe->code = e->code;
    char raw[sizeof(fe->message)];
    snprintf(raw, sizeof(raw), "%s", e->message ? e->message : "invalid");
    raw[strcspn(raw, "\n")] = '\0';
    redact_values(raw, fe->message, sizeof(fe->message));
}

sne_err sne_validator_new(sne_validator **out, const char *xsd_path, sne_error *err)
{
    *out = NULL;
    first_error fe = {0};
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(xsd_path);
    if (!pctx)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot read the schema %s", xsd_path);
    xmlSchemaSetParserStructuredErrors(pctx, keep_first_error, &fe);
    xmlSchemaPtr schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    if (!schema)
        return sne_error_set(err, SNE_ERR_IO, fe.code, "cannot load the schema %s: %s", xsd_path,
                             fe.set ? fe.message : "unreadable");
    sne_validator *v = calloc(1, sizeof(*v));
    if (!v) {
        xmlSchemaFree(schema);
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    }
    v->schema = schema;
    *out = v;
    return SNE_OK;
}

void sne_validator_free(sne_validator *v)
{
    if (!v)
        return;
    xmlSchemaFree(v->schema);
    free(v);
}

static int read_member(void *ctx, char *buf, int len)
{
    ptrdiff_t n = sne_unpack_read(ctx, buf, (size_t)len);
    return n < 0 ? -1 : (int)n;
}

/* The error of a document the reader refused (r < 0: not well-formed) or found invalid. libxml2
 * reports some well-formedness errors without their line: the reader's line is used then. */
static sne_err invalid_document(sne_error *err, const char *name, const first_error *fe,
                                xmlTextReaderPtr reader, int r)
{
    int line = fe->line > 0 ? fe->line : xmlTextReaderGetParserLineNumber(reader);
    const char *what = fe->set ? fe->message
                       : r < 0 ? "not well-formed XML"
                               : "not valid against the schema";
    return sne_error_set(err, SNE_ERR_INVALID, fe->code, "%s, line %d: %s", name, line, what);
}

static sne_err validate_member(sne_validator *v, sne_unpack *u, const char *name, sne_error *err)
{
    first_error fe = {0};
    xmlTextReaderPtr reader = xmlReaderForIO(read_member, NULL, u, name, NULL, XML_PARSE_NONET);
    if (!reader)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "%s: cannot create a reader", name);
    xmlTextReaderSetStructuredErrorHandler(reader, keep_first_error, &fe);
    sne_err rc = SNE_OK;
    if (xmlTextReaderSetSchema(reader, v->schema) != 0) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "%s: cannot attach the schema", name);
    } else {
        int r;
        while ((r = xmlTextReaderRead(reader)) == 1 && !fe.set)
            ;
        if (fe.set || r < 0 || xmlTextReaderIsValid(reader) != 1) {
            const sne_error *ue = sne_unpack_error(u);
            if (ue->code)
                rc = sne_error_set(err, ue->code, ue->lib_code, "%s", ue->message);
            else
                rc = invalid_document(err, name, &fe, reader, r);
        }
    }
    xmlFreeTextReader(reader);
    return rc;
}

sne_err sne_validate_archive(sne_validator *v, sne_unpack_read_fn read, void *ctx,
                             unsigned *documents, sne_error *err)
{
    sne_unpack *u = NULL;
    *documents = 0;
    sne_err rc = sne_unpack_open(&u, read, ctx, NULL, err);
    const char *name;
    while (!rc && (rc = sne_unpack_next(u, &name)) == SNE_OK) {
        size_t n = strlen(name);
        if (n > 4 && strcmp(name + n - 4, ".xml") == 0) {
            rc = validate_member(v, u, name, err);
            if (!rc)
                (*documents)++;
        }
    }
    if (rc == SNE_ERR_NOTFOUND)
        rc = SNE_OK;
    else if (rc && u && !err->code)
        *err = *sne_unpack_error(u);
    sne_unpack_free(u);
    return rc;
}
