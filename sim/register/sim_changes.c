/* sim_changes.c: see sim_changes.h. */
#include "sim_changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_export.h"
#include "sim_render.h"
#include "common/buffer.h"

/* Items of one entity compared at most (a keyed entity has at most SIM_MAX_ITEMS). */
#define MAX_ITEMS 260

struct sim_changes {
    sne_buf text; /* the lines, each ending with LF */
    size_t *off;  /* start of each line in text */
    size_t n, cap;
    sim_xml before, after;                 /* the two renderings compared */
    sim_item ib[MAX_ITEMS], ia[MAX_ITEMS]; /* their items */
};

sim_changes *sim_changes_new(void)
{
    sim_changes *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    sne_buf_init(&c->text, SIM_CHANGES_CAP);
    sim_xml_init(&c->before, SIM_RENDER_CAP);
    sim_xml_init(&c->after, SIM_RENDER_CAP);
    return c;
}

void sim_changes_free(sim_changes *c)
{
    if (!c)
        return;
    sne_buf_free(&c->text);
    free(c->off);
    sim_xml_free(&c->before);
    sim_xml_free(&c->after);
    free(c);
}

static int add_line(sim_changes *c, const char *op, const char *num, int e, const char *key)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        size_t *o = realloc(c->off, cap * sizeof *o);
        if (!o)
            return -1;
        c->off = o;
        c->cap = cap;
    }
    const char *code = sim_entity_code(e);
    size_t lo = strlen(op), lc = strlen(code), lk = strlen(key);
    char line[64], *p = line; /* op TAB numUnique TAB entity TAB key LF */
    if (lo + 18 + lc + lk + 4 > sizeof line)
        return -1;
    memcpy(p, op, lo);
    p += lo;
    *p++ = '\t';
    memcpy(p, num, 18);
    p += 18;
    *p++ = '\t';
    memcpy(p, code, lc);
    p += lc;
    *p++ = '\t';
    memcpy(p, key, lk);
    p += lk;
    *p++ = '\n';
    size_t n = (size_t)(p - line);
    if (sne_buf_append(&c->text, line, n) != SNE_OK)
        return -1;
    c->off[c->n++] = c->text.len - n;
    return 0;
}

/* Index of the item of `items` whose key is `key`, or -1. */
static int find_key(const sim_item *items, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(items[i].key, key) == 0)
            return i;
    return -1;
}

static int same_bytes(const sim_changes *c, const sim_item *b, const sim_item *a)
{
    return b->len == a->len &&
           memcmp(c->before.buf.data + b->off, c->after.buf.data + a->off, b->len) == 0;
}

/* Renders entity e of v into w, its items into items; 0 items for a NULL view, -1 on error. */
static int render(sim_xml *w, const sim_view *v, int e, sim_item *items)
{
    sim_xml_reset(w);
    if (!v)
        return 0;
    int n = sim_render_entity(w, v, e, 3, items, MAX_ITEMS);
    if (w->err)
        return -1;
    return n > MAX_ITEMS ? MAX_ITEMS : n;
}

long sim_changes_diff(sim_changes *c, const sim_view *vo, const sim_view *vn, int e, int record)
{
    const char *num = (vn ? vn : vo)->d->num;
    int nb = render(&c->before, vo, e, c->ib), na = render(&c->after, vn, e, c->ia);
    if (nb < 0 || na < 0)
        return -1;
    long changes = 0;
    for (int i = 0; i < nb; i++) {
        int j = find_key(c->ia, na, c->ib[i].key);
        const char *op = j < 0 ? "delete" : same_bytes(c, &c->ib[i], &c->ia[j]) ? NULL : "update";
        if (!op)
            continue;
        changes++;
        if (record && add_line(c, op, num, e, c->ib[i].key) != 0)
            return -1;
    }
    for (int j = 0; j < na; j++) {
        if (find_key(c->ib, nb, c->ia[j].key) >= 0)
            continue;
        changes++;
        if (record && add_line(c, "create", num, e, c->ia[j].key) != 0)
            return -1;
    }
    return changes;
}

/* Lines compare bytewise up to their LF. */
static int cmp_line(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a;
    const unsigned char *y = *(const unsigned char *const *)b;
    while (*x == *y && *x != '\n') {
        x++;
        y++;
    }
    return (int)*x - (int)*y;
}

int sim_changes_write(sim_changes *c, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    FILE *f = NULL;
    const unsigned char **lines = malloc((c->n ? c->n : 1) * sizeof *lines);
    if (!lines) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < c->n; k++)
        lines[k] = c->text.data + c->off[k];
    qsort(lines, c->n, sizeof *lines, cmp_line);
    if (!(f = fopen(path, "w"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (size_t k = 0; k < c->n; k++) {
        const char *line = (const char *)lines[k];
        fwrite(line, 1, (size_t)(strchr(line, '\n') - line + 1), f); /* text is NUL-terminated */
    }
    int bad = ferror(f);
    int closed = fclose(f);
    f = NULL;
    if (bad || closed != 0) {
        snprintf(err, errlen, "%s: %s", path, bad ? "write error" : strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    free(lines);
    return rc;
}
