/* paths.c: the changed paths of render.h (sne_render_changed_paths), over the flat trees of
 * tree.h. */
#include "render.h"

#include "../common/buffer.h"
#include "tree.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Changed paths: both trees are walked together, member by member, and the pointers of the
 * leaves that differ are collected, then sorted and deduplicated. */

enum { V_NONE, V_RAW, V_TEXT, V_OBJ, V_SEQ, V_GROUP };

/* A JSON value of the mapping: an attribute's value (V_RAW), an element's text (V_TEXT), an
 * element's object or sequence array, or the array of a repeated name (V_GROUP, from its first). */
typedef struct val {
    int kind;
    uint32_t node;
    const uint8_t *s; /* V_RAW */
    size_t len;
} val;

typedef struct entry {
    const uint8_t *p; /* set once the arena stops moving */
    size_t off, len;
} entry;

typedef struct diff_ctx {
    tree *a, *b;
    sne_buf path;    /* the pointer of the value being compared */
    sne_buf arena;   /* the changed pointers, back to back */
    sne_buf entries; /* entry[], one per changed pointer (duplicates possible) */
} diff_ctx;

static const val no_val = {V_NONE, NONE, NULL, 0};

static val value_of(const tree *t, uint32_t n)
{
    static const int kinds[] = {[K_STR] = V_TEXT, [K_OBJ] = V_OBJ, [K_SEQ] = V_SEQ};
    return (val){kinds[t->nodes[n].kind], n, NULL, 0};
}

static bool is_str(val v)
{
    return v.kind == V_RAW || v.kind == V_TEXT;
}

static bool is_arr(val v)
{
    return v.kind == V_SEQ || v.kind == V_GROUP;
}

static sne_err str_of(tree *t, val v, const uint8_t **s, size_t *len)
{
    if (v.kind == V_RAW) {
        *s = v.s;
        *len = v.len;
        return SNE_OK;
    }
    return tree_text(t, v.node, s, len);
}

static sne_err emit(diff_ctx *c)
{
    entry e = {NULL, c->arena.len, c->path.len};
    sne_err rc = sne_buf_append(&c->arena, c->path.data, c->path.len);
    return rc ? rc : sne_buf_append(&c->entries, &e, sizeof(e));
}

/* Appends "/" and the RFC 6901 escape of `key` to the path. */
static sne_err push_key(diff_ctx *c, const uint8_t *key, size_t len)
{
    sne_err rc = sne_buf_append_byte(&c->path, '/');
    size_t run = 0;
    for (size_t i = 0; !rc && i < len; i++) {
        if (key[i] != '~' && key[i] != '/')
            continue;
        rc = sne_buf_append(&c->path, key + run, i - run);
        if (!rc)
            rc = sne_buf_append(&c->path, key[i] == '~' ? "~0" : "~1", 2);
        run = i + 1;
    }
    return rc ? rc : sne_buf_append(&c->path, key + run, len - run);
}

static sne_err push_index(diff_ctx *c, uint32_t i)
{
    return sne_buf_printf(&c->path, "/%u", (unsigned)i);
}

/* The members of an object value, in bytewise order of name; equal names (an attribute and a
 * child of the same name) in the order the object writes them. */
typedef struct members {
    tree *t;
    const uint8_t *attr_p;
    uint32_t attrs_left;
    bool text_left;
    uint32_t head;
    uint32_t node;
    /* the current member, when `has` */
    bool has;
    const uint8_t *key;
    size_t key_len;
    val v;
} members;

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static void members_next(members *m)
{
    enum { FROM_ATTR, FROM_TEXT, FROM_CHILD } from = FROM_ATTR;
    m->has = false;
    const char *an = NULL, *av = NULL;
    size_t anl = 0, avl = 0;
    const uint8_t *ap = m->attr_p;
    if (m->attrs_left) {
        tree_next_attr(&ap, &an, &anl, &av, &avl);
        m->has = true;
        m->key = (const uint8_t *)an;
        m->key_len = anl;
    }
    if (m->text_left &&
        (!m->has || bytes_cmp((const uint8_t *)"#text", 5, m->key, m->key_len) < 0)) {
        m->has = true;
        from = FROM_TEXT;
        m->key = (const uint8_t *)"#text";
        m->key_len = 5;
    }
    if (m->head != NONE) {
        const node *h = &m->t->nodes[m->head];
        const uint8_t *hn = m->t->in + h->name;
        if (!m->has || bytes_cmp(hn, h->name_len, m->key, m->key_len) < 0) {
            m->has = true;
            from = FROM_CHILD;
            m->key = hn;
            m->key_len = h->name_len;
        }
    }
    if (!m->has)
        return;
    switch (from) {
    case FROM_ATTR:
        m->v = (val){V_RAW, NONE, (const uint8_t *)av, avl};
        m->attr_p = ap;
        m->attrs_left--;
        break;
    case FROM_TEXT:
        m->v = (val){V_TEXT, m->node, NULL, 0};
        m->text_left = false;
        break;
    case FROM_CHILD:
        if (m->t->nodes[m->head].group_size > 1)
            m->v = (val){V_GROUP, m->head, NULL, 0};
        else
            m->v = value_of(m->t, m->head);
        m->head = m->t->nodes[m->head].head_next;
        break;
    }
}

static void members_init(members *m, tree *t, val v)
{
    memset(m, 0, sizeof(*m));
    m->t = t;
    m->head = NONE;
    m->node = v.node;
    if (v.kind == V_OBJ) {
        const node *nd = &t->nodes[v.node];
        m->attr_p = t->in + nd->attrs;
        m->attrs_left = nd->nattr;
        m->text_left = nd->nseg != 0;
        m->head = nd->head_first;
    }
    members_next(m);
}

/* The first element of an array value, and the one after `n`. */
static uint32_t arr_first(const tree *t, val v)
{
    if (v.kind == V_SEQ)
        return t->nodes[v.node].first_child;
    return v.kind == V_GROUP ? v.node : NONE;
}

static uint32_t arr_next(const tree *t, val v, uint32_t n)
{
    return v.kind == V_SEQ ? t->nodes[n].next_sibling : t->nodes[n].group_next;
}

static sne_err diff_value(diff_ctx *c, val a, val b);

/* `a` and `b` are arrays or V_NONE. */
static sne_err diff_arrays(diff_ctx *c, val a, val b)
{
    uint32_t x = arr_first(c->a, a), y = arr_first(c->b, b);
    sne_err rc = SNE_OK;
    size_t mark = c->path.len;
    for (uint32_t i = 0; !rc && (x != NONE || y != NONE); i++) {
        rc = push_index(c, i);
        if (!rc)
            rc = diff_value(c, x != NONE ? value_of(c->a, x) : no_val,
                            y != NONE ? value_of(c->b, y) : no_val);
        sne_buf_truncate(&c->path, mark);
        if (x != NONE)
            x = arr_next(c->a, a, x);
        if (y != NONE)
            y = arr_next(c->b, b, y);
    }
    return rc;
}

/* `a` and `b` are objects or V_NONE. */
static sne_err diff_objects(diff_ctx *c, val a, val b)
{
    members ma, mb;
    sne_err rc = SNE_OK;
    size_t mark = c->path.len;
    members_init(&ma, c->a, a);
    members_init(&mb, c->b, b);
    while (!rc && (ma.has || mb.has)) {
        int cmp = !ma.has ? 1 : !mb.has ? -1 : bytes_cmp(ma.key, ma.key_len, mb.key, mb.key_len);
        rc = cmp <= 0 ? push_key(c, ma.key, ma.key_len) : push_key(c, mb.key, mb.key_len);
        if (!rc)
            rc = diff_value(c, cmp <= 0 ? ma.v : no_val, cmp >= 0 ? mb.v : no_val);
        sne_buf_truncate(&c->path, mark);
        if (cmp <= 0)
            members_next(&ma);
        if (cmp >= 0)
            members_next(&mb);
    }
    return rc;
}

/* Compares the values at the current path; either may be V_NONE (absent), not both.
 * Recursion: at most two frames per element level (the element, then its name's array). */
static sne_err diff_value(diff_ctx *c, val a, val b)
{
    sne_err rc = SNE_OK;
    if (is_str(a) && is_str(b)) {
        const uint8_t *sa, *sb;
        size_t la, lb;
        rc = str_of(c->a, a, &sa, &la);
        if (!rc)
            rc = str_of(c->b, b, &sb, &lb);
        if (!rc && (la != lb || memcmp(sa, sb, la) != 0))
            rc = emit(c);
        return rc;
    }
    if (is_str(a) || is_str(b)) {
        /* A leaf on one side only; the other side's leaves, if any, are the other shape's. */
        rc = emit(c);
        if (is_str(a))
            a = no_val;
        else
            b = no_val;
        if (rc || (a.kind == V_NONE && b.kind == V_NONE))
            return rc;
    }
    if (is_arr(a) && is_arr(b))
        return diff_arrays(c, a, b);
    if (a.kind == V_OBJ && b.kind == V_OBJ)
        return diff_objects(c, a, b);
    /* Different shapes (or one absent): each side's leaves are on that side only. */
    if (is_arr(a))
        rc = diff_arrays(c, a, no_val);
    else if (a.kind == V_OBJ)
        rc = diff_objects(c, a, no_val);
    if (!rc && is_arr(b))
        rc = diff_arrays(c, no_val, b);
    else if (!rc && b.kind == V_OBJ)
        rc = diff_objects(c, no_val, b);
    return rc;
}

static int entry_cmp(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    return bytes_cmp(a->p, a->len, b->p, b->len);
}

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX / 4 - b ? SIZE_MAX / 4 : a + b;
}

sne_err sne_render_changed_paths(const uint8_t *before, size_t blen, const uint8_t *after,
                                 size_t alen, sne_buf *out)
{
    size_t mark = out->len;
    stack_block sa, sb;
    tree ta, tb;
    diff_ctx c;
    /* Each distinct pointer is written at least once in `out`; the same pointer is collected at
     * most twice (an attribute and a child sharing a name), hence the arena's cap. */
    size_t room = out->cap > out->len ? out->cap - out->len : 0;
    size_t arena_cap = sat_add(sat_add(room, room), 4096);
    sne_buf_init(&c.path, sat_add(2 * (blen > alen ? blen : alen), 4096));
    sne_buf_init(&c.arena, arena_cap);
    sne_buf_init(&c.entries, sat_add(arena_cap, 2) > SIZE_MAX / 4 / sizeof(entry)
                                 ? SIZE_MAX / 4
                                 : sat_add(arena_cap, 2) * sizeof(entry));
    c.a = &ta;
    c.b = &tb;
    sne_err rc = tree_build(&ta, before, blen, &sa);
    sne_err rc2 = tree_build(&tb, after, alen, &sb);
    if (!rc)
        rc = rc2;
    bool same = !rc && blen == alen && memcmp(before, after, blen) == 0;
    if (!rc && !same) {
        /* The root's empty path is the pointer of a root that is a plain string. */
        rc = sne_buf_reserve(&c.path, 64);
        if (!rc)
            rc = diff_value(&c, value_of(&ta, 0), value_of(&tb, 0));
    }
    if (!rc)
        rc = sne_buf_append_byte(out, '[');
    if (!rc && !same) {
        entry *e = (entry *)c.entries.data;
        size_t n = c.entries.len / sizeof(entry), written = 0;
        for (size_t i = 0; i < n; i++)
            e[i].p = c.arena.data ? c.arena.data + e[i].off : (const uint8_t *)"";
        if (n > 1)
            qsort(e, n, sizeof(*e), entry_cmp);
        for (size_t i = 0; !rc && i < n; i++) {
            if (i > 0 && entry_cmp(&e[i - 1], &e[i]) == 0)
                continue;
            if (written++)
                rc = sne_buf_append_byte(out, ',');
            if (!rc)
                rc = sne_buf_append_json_string(out, e[i].p, e[i].len);
        }
    }
    if (!rc)
        rc = sne_buf_append_byte(out, ']');
    tree_free(&ta);
    tree_free(&tb);
    sne_buf_free(&c.path);
    sne_buf_free(&c.arena);
    sne_buf_free(&c.entries);
    if (rc)
        sne_buf_truncate(out, mark);
    return rc;
}
