/* sim_xml.h: writing export XML into one of the engine's capped buffers (sne_buf).
 *
 * Elements are indented two spaces a level and carry the ns1 prefix of the export namespace, as
 * in the contract's sample. A writer keeps the first error of its buffer (SNE_ERR_LIMIT past the
 * cap, SNE_ERR_NOMEM) and skips every later write, so that a renderer writes a whole demand and
 * its caller checks `err` once. Element names and `raw` values are trusted ASCII; `text` values
 * are escaped (&, <, >). Not thread-safe: one writer per thread. */
#ifndef SIM_XML_H
#define SIM_XML_H

#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"

typedef struct sim_xml {
    sne_buf buf; /* owned: the text written so far (buf.data, buf.len) */
    sne_err err; /* the first write that failed, SNE_OK while none; sticky */
} sim_xml;

/* An empty writer whose text may grow to `cap` bytes. */
void sim_xml_init(sim_xml *w, size_t cap);
/* Frees the text; NULL-safe. */
void sim_xml_free(sim_xml *w);
/* Empties the text (keeps its memory, and the error). */
void sim_xml_reset(sim_xml *w);

static inline void sim_xml_put(sim_xml *w, const void *s, size_t n)
{
    if (w->err == SNE_OK)
        w->err = sne_buf_append(&w->buf, s, n);
}
#define SIM_XML_PUTS(w, lit) sim_xml_put((w), (lit), sizeof(lit) - 1)

/* 2 * lvl spaces (lvl at most 24). */
void sim_xml_indent(sim_xml *w, int lvl);
/* <ns1:name> and </ns1:name> on lines of their own. */
void sim_xml_open(sim_xml *w, int lvl, const char *name);
void sim_xml_close(sim_xml *w, int lvl, const char *name);
/* <ns1:name>value</ns1:name>: `s` is n bytes of text needing no escape (codes, numbers, dates). */
void sim_xml_raw(sim_xml *w, int lvl, const char *name, const char *s, size_t n);
/* ... with free text, escaped. */
void sim_xml_text(sim_xml *w, int lvl, const char *name, const char *s);
/* <ns1:name code="code"/> */
void sim_xml_code(sim_xml *w, int lvl, const char *name, const char *code);
void sim_xml_uint(sim_xml *w, int lvl, const char *name, uint64_t v);
/* An amount in cents as "1234.56", a tenth-point score as "123.4". */
void sim_xml_cents(sim_xml *w, int lvl, const char *name, uint64_t cents);
void sim_xml_tenths(sim_xml *w, int lvl, const char *name, uint64_t tenths);
/* xs:date of a day since 1970-01-01; xs:dateTime in Paris time of a minute since 1970 UTC,
 * with milliseconds ".000" when `millis`. */
void sim_xml_day(sim_xml *w, int lvl, const char *name, int32_t day);
void sim_xml_datetime(sim_xml *w, int lvl, const char *name, uint32_t minute, int millis);
void sim_xml_bool(sim_xml *w, int lvl, const char *name, int v);

#endif
