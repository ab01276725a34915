/* render.c: the JSON mapping of render.h, over the flat tree of tree.h. */
#include "render.h"

#include "../common/buffer.h"
#include "tree.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The order in which an object's members are written; the JSON value is the same. */
typedef enum member_order {
    MEMBERS_MAPPING, /* the mapping's (snesync.h): attributes, text, then children */
    MEMBERS_JSONB    /* PostgreSQL jsonb's (render.h) */
} member_order;

static sne_err put_text(tree *t, uint32_t n, sne_buf *out)
{
    const uint8_t *s;
    size_t len;
    sne_err rc = tree_text(t, n, &s, &len);
    return rc ? rc : sne_buf_append_json_string(out, s, len);
}

/* jsonb's order of an object's keys: shorter first, then bytewise; members of one name (an
 * attribute and a child element may share it) keep the mapping's order, so that jsonb keeps the
 * same one of them (the last). */
static int member_cmp(const void *x, const void *y)
{
    const member *a = x, *b = y;
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    int c = memcmp(a->name, b->name, a->name_len);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/* The order is total (positions differ), so both ways give the same result; the insertion sort
 * for the few members of most objects, qsort for the many that a hostile item may have. */
static void sort_members(member *m, size_t n)
{
    if (n > 16) {
        qsort(m, n, sizeof(*m), member_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        member v = m[i];
        size_t j = i;
        while (j > 0 && member_cmp(&m[j - 1], &v) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = v;
    }
}

/* Lists the members of object `n` into t->members from t->members_used, in the mapping's order:
 * the attributes, the text, then the children grouped by name in order of first appearance. */
static size_t list_members(tree *t, uint32_t n)
{
    const node *nd = &t->nodes[n];
    member *m = t->members + t->members_used;
    size_t k = 0;
    const uint8_t *p = t->in + nd->attrs;
    for (uint32_t i = 0; i < nd->nattr; i++, k++) {
        const char *name, *val;
        size_t nl, vl;
        tree_next_attr(&p, &name, &nl, &val, &vl);
        m[k] = (member){
            (const uint8_t *)name, nl, M_ATTR, (const uint8_t *)val, vl, NONE, (uint32_t)k};
    }
    if (nd->nseg) {
        m[k] = (member){(const uint8_t *)"#text", 5, M_TEXT, NULL, 0, n, (uint32_t)k};
        k++;
    }
    for (uint32_t c = nd->first_child; c != NONE; c = t->nodes[c].next_sibling) {
        const node *cn = &t->nodes[c];
        if (cn->group_size) { /* the first of its name */
            m[k] = (member){t->in + cn->name, cn->name_len, M_CHILDREN, NULL, 0, c, (uint32_t)k};
            k++;
        }
    }
    return k;
}

static sne_err render_node(tree *t, uint32_t n, member_order order, sne_buf *out);

static sne_err render_member(tree *t, const member *m, member_order order, sne_buf *out)
{
    sne_err rc = sne_buf_append_json_string(out, m->name, m->name_len);
    if (!rc)
        rc = sne_buf_append_byte(out, ':');
    if (rc)
        return rc;
    if (m->kind == M_ATTR)
        return sne_buf_append_json_string(out, m->val, m->val_len);
    if (m->kind == M_TEXT)
        return put_text(t, m->node, out);
    if (t->nodes[m->node].group_size == 1)
        return render_node(t, m->node, order, out);
    rc = sne_buf_append_byte(out, '[');
    for (uint32_t g = m->node; !rc && g != NONE; g = t->nodes[g].group_next) {
        if (g != m->node)
            rc = sne_buf_append_byte(out, ',');
        if (!rc)
            rc = render_node(t, g, order, out);
    }
    return rc ? rc : sne_buf_append_byte(out, ']');
}

/* Recursion: one frame per element level, so at most SNE_CANON_MAX_DEPTH. */
static sne_err render_node(tree *t, uint32_t n, member_order order, sne_buf *out)
{
    const node *nd = &t->nodes[n];
    sne_err rc = SNE_OK;
    if (nd->kind == K_STR)
        return put_text(t, n, out);
    if (nd->kind == K_SEQ) {
        rc = sne_buf_append_byte(out, '[');
        for (uint32_t c = nd->first_child; !rc && c != NONE; c = t->nodes[c].next_sibling) {
            if (c != nd->first_child)
                rc = sne_buf_append_byte(out, ',');
            if (!rc)
                rc = render_node(t, c, order, out);
        }
        return rc ? rc : sne_buf_append_byte(out, ']');
    }
    member *m = t->members + t->members_used;
    size_t k = list_members(t, n);
    if (order == MEMBERS_JSONB)
        sort_members(m, k);
    t->members_used += k; /* the children's members go after these */
    rc = sne_buf_append_byte(out, '{');
    for (size_t i = 0; !rc && i < k; i++) {
        if (i)
            rc = sne_buf_append_byte(out, ',');
        if (!rc)
            rc = render_member(t, &m[i], order, out);
    }
    t->members_used -= k;
    return rc ? rc : sne_buf_append_byte(out, '}');
}

static sne_err render(const uint8_t *canon, size_t len, member_order order, sne_buf *out)
{
    size_t mark = out->len;
    stack_block stack;
    tree t;
    sne_err rc = tree_build(&t, canon, len, &stack);
    if (!rc)
        rc = render_node(&t, 0, order, out);
    tree_free(&t);
    if (rc)
        sne_buf_truncate(out, mark);
    return rc;
}

sne_err sne_render_json(const uint8_t *canon, size_t len, sne_buf *out)
{
    return render(canon, len, MEMBERS_MAPPING, out);
}

sne_err sne_render_jsonb(const uint8_t *canon, size_t len, sne_buf *out)
{
    return render(canon, len, MEMBERS_JSONB, out);
}
