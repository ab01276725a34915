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

void sim_xml_indent(sim_xml *w, int lvl)
{
    static const char spaces[] = "                                                ";
    sim_xml_put(w, spaces, (size_t)(2 * lvl));
}

void sim_xml_open(sim_xml *w, int lvl, const char *name)
{
    sim_xml_indent(w, lvl);
    SIM_XML_PUTS(w, "<ns1:");
    sim_xml_put(w, name, strlen(name));
    SIM_XML_PUTS(w, ">\n");
}

void sim_xml_close(sim_xml *w, int lvl, const char *name)
{
    sim_xml_indent(w, lvl);
    SIM_XML_PUTS(w, "</ns1:");
    sim_xml_put(w, name, strlen(name));
    SIM_XML_PUTS(w, ">\n");
}

static void start_leaf(sim_xml *w, int lvl, const char *name, size_t nl)
{
    sim_xml_indent(w, lvl);
    SIM_XML_PUTS(w, "<ns1:");
    sim_xml_put(w, name, nl);
    SIM_XML_PUTS(w, ">");
}

static void end_leaf(sim_xml *w, const char *name, size_t nl)
{
    SIM_XML_PUTS(w, "</ns1:");
    sim_xml_put(w, name, nl);
    SIM_XML_PUTS(w, ">\n");
}

void sim_xml_raw(sim_xml *w, int lvl, const char *name, const char *s, size_t n)
{
    size_t nl = strlen(name);
    start_leaf(w, lvl, name, nl);
    sim_xml_put(w, s, n);
    end_leaf(w, name, nl);
}

static void put_escaped(sim_xml *w, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        default:
            continue;
        }
        sim_xml_put(w, run, (size_t)(s - run));
        sim_xml_put(w, rep, strlen(rep));
        run = s + 1;
    }
    sim_xml_put(w, run, (size_t)(s - run));
}

void sim_xml_text(sim_xml *w, int lvl, const char *name, const char *s)
{
    size_t nl = strlen(name);
    start_leaf(w, lvl, name, nl);
    put_escaped(w, s);
    end_leaf(w, name, nl);
}

void sim_xml_code(sim_xml *w, int lvl, const char *name, const char *code)
{
    sim_xml_indent(w, lvl);
    SIM_XML_PUTS(w, "<ns1:");
    sim_xml_put(w, name, strlen(name));
    SIM_XML_PUTS(w, " code=\"");
    sim_xml_put(w, code, strlen(code));
    SIM_XML_PUTS(w, "\"/>\n");
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
