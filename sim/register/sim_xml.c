/* sim_xml.c: see sim_xml.h. */
#include "sim_xml.h"

#include <string.h>

#include "core/sim_util.h"

void sim_xml_init(sim_xml *w, size_t cap)
{
    sne_buf_init(&w->buf, cap);
    w->err = SNE_OK;
}

void sim_xml_free(sim_xml *w)
{
    if (w)
        sne_buf_free(&w->buf);
}

void sim_xml_reset(sim_xml *w)
{
    sne_buf_reset(&w->buf);
}

static const char spaces[] = "                                                "; /* 24 levels */

void sim_xml_indent(sim_xml *w, int lvl)
{
    sim_xml_put(w, spaces, (size_t)(2 * (lvl)));
}

/* A rendering is millions of short lines: each is written in one piece, into room reserved for
 * it at the end of the text (one call into the buffer module per line, not one per fragment).
 * room() gives n bytes to fill, or NULL once the writer has an error; commit() adds what was
 * written. Every size below is the sum of the lengths of the very pieces written after it. */
static char *room(sim_xml *w, size_t n)
{
    if (w->err == SNE_OK)
        w->err = sne_buf_reserve(&w->buf, n);
    return w->err == SNE_OK ? (char *)w->buf.data + w->buf.len : NULL;
}

static void commit(sim_xml *w, char *end)
{
    w->buf.len = (size_t)((uint8_t *)end - w->buf.data);
    w->buf.data[w->buf.len] = '\0';
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define LIT(s)        (sizeof(s) - 1)
#define PUT_LIT(p, s) put((p), (s), LIT(s))
#define OPEN          "<ns1:"
#define CLOSE         "</ns1:"
#define EOL           ">\n"
#define CODE          " code=\""
#define CODE_EOL      "\"/>\n"
#define INDENT(lvl)   ((size_t)(2 * (lvl)))

/* The entity of an XML special character of text, or NULL. */
static const char *entity(char c)
{
    return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : NULL;
}

/* The length of s escaped. */
static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        const char *e = entity(*s);
        n += e ? strlen(e) : 1;
    }
    return n;
}

static char *put_escaped(char *p, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *e = entity(*s);
        if (e == NULL)
            continue;
        p = put(p, run, (size_t)(s - run));
        p = put(p, e, strlen(e));
        run = s + 1;
    }
    return put(p, run, (size_t)(s - run));
}

void sim_xml_open(sim_xml *w, int lvl, const char *name)
{
    size_t nl = strlen(name);
    char *p = room(w, INDENT(lvl) + LIT(OPEN) + nl + LIT(EOL));
    if (p == NULL)
        return;
    p = put(p, spaces, INDENT(lvl));
    p = PUT_LIT(p, OPEN);
    p = put(p, name, nl);
    commit(w, PUT_LIT(p, EOL));
}

void sim_xml_close(sim_xml *w, int lvl, const char *name)
{
    size_t nl = strlen(name);
    char *p = room(w, INDENT(lvl) + LIT(CLOSE) + nl + LIT(EOL));
    if (p == NULL)
        return;
    p = put(p, spaces, INDENT(lvl));
    p = PUT_LIT(p, CLOSE);
    p = put(p, name, nl);
    commit(w, PUT_LIT(p, EOL));
}

/* <ns1:name>value</ns1:name>: the n bytes of s as they are, or s escaped when `escape`. */
static void leaf(sim_xml *w, int lvl, const char *name, const char *s, size_t n, int escape)
{
    size_t nl = strlen(name), nv = escape ? escaped_len(s) : n;
    char *p = room(w, INDENT(lvl) + LIT(OPEN) + nl + LIT(">") + nv + LIT(CLOSE) + nl + LIT(EOL));
    if (p == NULL)
        return;
    p = put(p, spaces, INDENT(lvl));
    p = PUT_LIT(p, OPEN);
    p = put(p, name, nl);
    p = PUT_LIT(p, ">");
    p = escape ? put_escaped(p, s) : put(p, s, n);
    p = PUT_LIT(p, CLOSE);
    p = put(p, name, nl);
    commit(w, PUT_LIT(p, EOL));
}

void sim_xml_raw(sim_xml *w, int lvl, const char *name, const char *s, size_t n)
{
    leaf(w, lvl, name, s, n, 0);
}

void sim_xml_text(sim_xml *w, int lvl, const char *name, const char *s)
{
    leaf(w, lvl, name, s, 0, 1);
}

void sim_xml_code(sim_xml *w, int lvl, const char *name, const char *code)
{
    size_t nl = strlen(name), nc = strlen(code);
    char *p = room(w, INDENT(lvl) + LIT(OPEN) + nl + LIT(CODE) + nc + LIT(CODE_EOL));
    if (p == NULL)
        return;
    p = put(p, spaces, INDENT(lvl));
    p = PUT_LIT(p, OPEN);
    p = put(p, name, nl);
    p = PUT_LIT(p, CODE);
    p = put(p, code, nc);
    commit(w, PUT_LIT(p, CODE_EOL));
}

/* Decimal digits of v into o (at least 20 bytes); returns their count. */
static int fmt_u64(char *o, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return n;
}

void sim_xml_uint(sim_xml *w, int lvl, const char *name, uint64_t v)
{
    char t[24];
    sim_xml_raw(w, lvl, name, t, (size_t)fmt_u64(t, v));
}

void sim_xml_cents(sim_xml *w, int lvl, const char *name, uint64_t cents)
{
    char t[32];
    int n = fmt_u64(t, cents / 100);
    t[n++] = '.';
    t[n++] = (char)('0' + cents / 10 % 10);
    t[n++] = (char)('0' + cents % 10);
    sim_xml_raw(w, lvl, name, t, (size_t)n);
}

void sim_xml_tenths(sim_xml *w, int lvl, const char *name, uint64_t tenths)
{
    char t[32];
    int n = fmt_u64(t, tenths / 10);
    t[n++] = '.';
    t[n++] = (char)('0' + tenths % 10);
    sim_xml_raw(w, lvl, name, t, (size_t)n);
}

void sim_xml_day(sim_xml *w, int lvl, const char *name, int32_t day)
{
    char t[16];
    sim_xml_raw(w, lvl, name, t, (size_t)sim_fmt_day(day, t));
}

void sim_xml_datetime(sim_xml *w, int lvl, const char *name, uint32_t minute, int millis)
{
    char t[40];
    sim_xml_raw(w, lvl, name, t, (size_t)sim_fmt_paris((int64_t)minute * 60, millis, t));
}

void sim_xml_bool(sim_xml *w, int lvl, const char *name, int v)
{
    if (v)
        sim_xml_raw(w, lvl, name, "true", 4);
    else
        sim_xml_raw(w, lvl, name, "false", 5);
}
