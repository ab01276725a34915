#include "canon.h"

#include <stdlib.h>
#include <string.h>

void sne_canon_writer_init(sne_canon_writer *w, size_t item_cap, size_t text_cap)
{
    sne_buf_init(&w->out, item_cap);
    sne_buf_init(&w->text, text_cap);
    w->text_blank = 0;
    w->depth = 0;
}

void sne_canon_writer_free(sne_canon_writer *w)
{
    if (!w)
        return;
    sne_buf_free(&w->out);
    sne_buf_free(&w->text);
}

void sne_canon_writer_reset(sne_canon_writer *w)
{
    sne_buf_reset(&w->out);
    sne_buf_reset(&w->text);
    w->text_blank = 0;
    w->depth = 0;
}

/* No early exit: the loop is branch-free and the compiler vectorises it; names and values are
 * short and seldom hold such a byte. */
static bool has_control_byte(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char found = 0;
    for (size_t i = 0; i < n; i++)
        found |= u[i] <= SNE_CANON_CLOSE;
    return found;
}

static bool is_xml_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Writes the pending text of the innermost element, trimmed, unless it is only whitespace. Its
 * leading whitespace was never kept (sne_canon_text): only the trailing is trimmed here. */
static sne_err flush_text(sne_canon_writer *w)
{
    w->text_blank = 0;
    const uint8_t *s = w->text.data;
    size_t n = w->text.len;
    if (n == 0)
        return SNE_OK;
    while (is_xml_space(s[n - 1])) /* stops at s[0], never whitespace */
        n--;
    if (has_control_byte((const char *)s, n))
        return SNE_ERR_INVALID;
    sne_err rc = sne_buf_reserve(&w->out, n + 2);
    if (!rc) {
        sne_buf_put_byte(&w->out, SNE_CANON_TEXT);
        sne_buf_put(&w->out, s, n);
        sne_buf_put_byte(&w->out, 0);
    }
    sne_buf_reset(&w->text);
    return rc;
}

static int attr_compare(const void *a, const void *b)
{
    const sne_canon_attr *x = a;
    const sne_canon_attr *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

sne_err sne_canon_open(sne_canon_writer *w, const char *name, size_t name_len,
                       sne_canon_attr *attrs, size_t nattrs)
{
    if (w->depth >= SNE_CANON_MAX_DEPTH)
        return SNE_ERR_LIMIT;
    if (name_len == 0 || has_control_byte(name, name_len))
        return SNE_ERR_INVALID;
    sne_err rc = w->depth ? flush_text(w) : SNE_OK;
    if (rc)
        return rc;
    size_t start = w->out.len;
    size_t need = name_len + 2;
    for (size_t i = 0; i < nattrs; i++) {
        if (has_control_byte(attrs[i].name, attrs[i].name_len) ||
            has_control_byte(attrs[i].value, attrs[i].value_len))
            return SNE_ERR_INVALID;
        need += attrs[i].name_len + attrs[i].value_len + 3;
    }
    rc = sne_buf_reserve(&w->out, need);
    if (rc)
        return rc;
    sne_buf_put_byte(&w->out, SNE_CANON_OPEN);
    sne_buf_put(&w->out, name, name_len);
    sne_buf_put_byte(&w->out, 0);
    w->start[w->depth] = start;
    w->name_end[w->depth] = w->out.len;
    if (nattrs > 1)
        qsort(attrs, nattrs, sizeof(*attrs), attr_compare);
    for (size_t i = 0; i < nattrs; i++) {
        sne_buf_put_byte(&w->out, SNE_CANON_ATTR);
        sne_buf_put(&w->out, attrs[i].name, attrs[i].name_len);
        sne_buf_put_byte(&w->out, 0);
        sne_buf_put(&w->out, attrs[i].value, attrs[i].value_len);
        sne_buf_put_byte(&w->out, 0);
    }
    w->depth++;
    return SNE_OK;
}

sne_err sne_canon_text(sne_canon_writer *w, const uint8_t *s, size_t n)
{
    if (w->depth == 0)
        return SNE_OK; /* text outside the item is indentation */
    if (n > w->text.cap - w->text_blank - w->text.len)
        return SNE_ERR_LIMIT; /* the cap counts the leading whitespace skipped below */
    if (w->text.len == 0) {
        size_t blank = 0;
        while (blank < n && is_xml_space(s[blank]))
            blank++;
        w->text_blank += blank;
        s += blank;
        n -= blank;
        if (n == 0)
            return SNE_OK;
    }
    return sne_buf_append(&w->text, s, n);
}

sne_err sne_canon_close(sne_canon_writer *w)
{
    if (w->depth == 0)
        return SNE_ERR_USAGE;
    sne_err rc = flush_text(w);
    if (rc)
        return rc;
    w->depth--;
    if (w->out.len == w->name_end[w->depth]) {
        sne_buf_truncate(&w->out, w->start[w->depth]);
        return SNE_OK;
    }
    return sne_buf_append_byte(&w->out, SNE_CANON_CLOSE);
}

void sne_canon_reader_init(sne_canon_reader *r, const uint8_t *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->depth = 0;
}

/* Reads a NUL-terminated string at r->p; returns its length or -1 when there is no NUL. */
static long read_cstring(sne_canon_reader *r, const char **s)
{
    const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!nul)
        return -1;
    *s = (const char *)r->p;
    long len = (long)(nul - r->p);
    r->p = nul + 1;
    return len;
}

int sne_canon_next(sne_canon_reader *r, sne_canon_token *t)
{
    if (r->p == r->end)
        return r->depth == 0 ? 0 : -1;
    int kind = *r->p++;
    long n;
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    switch (kind) {
    case SNE_CANON_OPEN:
        if ((n = read_cstring(r, &t->name)) <= 0)
            return -1;
        t->name_len = (size_t)n;
        if (++r->depth > SNE_CANON_MAX_DEPTH)
            return -1;
        return 1;
    case SNE_CANON_ATTR:
        if (r->depth == 0 || (n = read_cstring(r, &t->name)) <= 0)
            return -1;
        t->name_len = (size_t)n;
        if ((n = read_cstring(r, &t->value)) < 0)
            return -1;
        t->value_len = (size_t)n;
        return 1;
    case SNE_CANON_TEXT:
        if (r->depth == 0 || (n = read_cstring(r, &t->value)) <= 0)
            return -1;
        t->value_len = (size_t)n;
        return 1;
    case SNE_CANON_CLOSE:
        if (r->depth == 0)
            return -1;
        r->depth--;
        /* The root's CLOSE must be the last byte. */
        if (r->depth == 0 && r->p != r->end)
            return -1;
        return 1;
    default:
        return -1;
    }
}

bool sne_canon_valid(const uint8_t *data, size_t len)
{
    sne_canon_reader r;
    sne_canon_token t;
    int rc;
    sne_canon_reader_init(&r, data, len);
    if (len == 0 || data[0] != SNE_CANON_OPEN)
        return false;
    while ((rc = sne_canon_next(&r, &t)) == 1)
        ;
    return rc == 0;
}
