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
    sim_xml_put(w, spaces, (size_t)(2 * lvl));
}

/* A rendering is millions of short lines: each is written in one piece, into room reserved for
 * it at the end of the text (one call into the buffer module per line, not one per fragment).
 * room() gives n bytes to fill, or NULL once the writer has an error; commit() adds them. */
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

/* Indentation and "<ns1:name" ("</ns1:name" with `end`): 2 * lvl + 6 + nl bytes at most. */
static char *tag(char *p, int lvl, const char *name, size_t nl, int end)
{
    p = put(p, spaces, (size_t)(2 * lvl));
    p = end ? put(p, "</ns1:", 6) : put(p, "<ns1:", 5);
    return put(p, name, nl);
}

static void open_or_close(sim_xml *w, int lvl, const char *name, int end)
{
    size_t nl = strlen(name);
    char *p = room(w, (size_t)(2 * lvl) + nl + 8);
    if (p == NULL)
        return;
    p = tag(p, lvl, name, nl, end);
    commit(w, put(p, ">\n", 2));
}

void sim_xml_open(sim_xml *w, int lvl, const char *name)
{
    open_or_close(w, lvl, name, 0);
}

void sim_xml_close(sim_xml *w, int lvl, const char *name)
{
    open_or_close(w, lvl, name, 1);
}

void sim_xml_raw(sim_xml *w, int lvl, const char *name, const char *s, size_t n)
{
    size_t nl = strlen(name);
    char *p = room(w, (size_t)(2 * lvl) + 2 * nl + n + 15);
    if (p == NULL)
        return;
    p = tag(p, lvl, name, nl, 0);
    *p++ = '>';
    p = put(p, s, n);
    p = put(p, "</ns1:", 6);
    p = put(p, name, nl);
    commit(w, put(p, ">\n", 2));
}

/* The entity of an XML special character of text, or NULL. */
static const char *entity(char c)
{
    return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : NULL;
}

/* s escaped: its length, and (with p) its bytes. */
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

void sim_xml_text(sim_xml *w, int lvl, const char *name, const char *s)
{
    size_t nl = strlen(name);
    char *p = room(w, (size_t)(2 * lvl) + 2 * nl + escaped_len(s) + 15);
    if (p == NULL)
        return;
    p = tag(p, lvl, name, nl, 0);
    *p++ = '>';
    p = put_escaped(p, s);
    p = put(p, "</ns1:", 6);
    p = put(p, name, nl);
    commit(w, put(p, ">\n", 2));
}

void sim_xml_code(sim_xml *w, int lvl, const char *name, const char *code)
{
    size_t nl = strlen(name), nc = strlen(code);
    char *p = room(w, (size_t)(2 * lvl) + nl + nc + 15);
    if (p == NULL)
        return;
    p = tag(p, lvl, name, nl, 0);
    p = put(p, " code=\"", 7);
    p = put(p, code, nc);
    commit(w, put(p, "\"/>\n", 4));
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
