/* render.c: the JSON mapping of render.h, over a flat tree of token offsets.
 *
 * An item is read twice: the first pass validates it and counts its elements and text segments, so
 * the second can build the tree into one block (from the stack for small items, else one malloc).
 * Each node keeps offsets into the input, never copies: names, attribute values and text are
 * NUL-terminated there. The grouping of children by name is computed once per element by sorting
 * its children by (name, document order); that order also drives the diff's merge of members. */
#include "render.h"

#include "../canon/canon.h"
#include "../common/schema.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

enum { K_STR, K_OBJ, K_SEQ };

typedef struct node {
    uint32_t name; /* offset of the NUL-terminated name in the input */
    uint32_t name_len;
    uint32_t attrs; /* offset of the first ATTR token: just past the name's NUL */
    uint32_t nattr;
    uint32_t seg_first, seg_last, nseg; /* its TEXT segments, a list in document order */
    uint32_t first_child, last_child, next_sibling, nchild;
    uint32_t group_next; /* next sibling of the same name, document order */
    uint32_t group_size; /* on the first of its name among its siblings: how many; else 0 */
    uint32_t head_first; /* the first of the child groups, by name */
    uint32_t head_next;  /* on a group's first element: the next group of the parent, by name */
    uint32_t kind;
} node;

typedef struct seg {
    uint32_t off, len, next;
} seg;

typedef struct sortkey {
    const char *name;
    uint32_t idx;
} sortkey;

/* The order in which an object's members are written; the JSON value is the same. */
typedef enum member_order {
    MEMBERS_MAPPING, /* the mapping's (snesync.h): attributes, text, then children */
    MEMBERS_JSONB    /* PostgreSQL jsonb's (render.h) */
} member_order;

/* A member of an object being written: an attribute, the element's text ("#text") or the child
 * elements of one name. */
typedef enum member_kind { M_ATTR, M_TEXT, M_CHILDREN } member_kind;
typedef struct member {
    const uint8_t *name;
    size_t name_len;
    member_kind kind;
    const uint8_t *val; /* M_ATTR: the value */
    size_t val_len;
    uint32_t node; /* M_TEXT: the element; M_CHILDREN: the first child of the name */
    uint32_t pos;  /* its place in the mapping's order */
} member;

typedef struct tree {
    const uint8_t *in;
    node *nodes;
    seg *segs;
    sortkey *keys;   /* scratch for grouping, one per node */
    member *members; /* scratch for writing: the objects open on the way down take turns */
    size_t members_used;
    void *heap;     /* the block holding the arrays when they did not fit on the stack */
    sne_buf concat; /* text of elements with several segments (mixed content); rare */
} tree;

/* Stack room for the tree of a small item (an event, a priority: a few dozen elements). */
#define STACK_TREE_BYTES 16384
typedef union stack_block {
    max_align_t align;
    unsigned char bytes[STACK_TREE_BYTES];
} stack_block;

/* ------------------------------------------------------------------------------------------ */
/* Building the tree */

/* Validates `in` and counts its elements and text segments. */
static sne_err scan(const uint8_t *in, size_t len, uint32_t *nnodes, uint32_t *nsegs,
                    uint32_t *nattrs)
{
    if (len > UINT32_MAX)
        return SNE_ERR_LIMIT;
    if (len == 0 || in[0] != SNE_CANON_OPEN)
        return SNE_ERR_CORRUPT;
    sne_canon_reader r;
    sne_canon_token t;
    int rc, prev = 0;
    const char *prev_attr = NULL;
    uint32_t nn = 0, ns = 0, na = 0;
    sne_canon_reader_init(&r, in, len);
    while ((rc = sne_canon_next(&r, &t)) == 1) {
        switch (t.kind) {
        case SNE_CANON_OPEN:
            nn++;
            break;
        case SNE_CANON_ATTR:
            /* Attributes come right after the name, strictly sorted (canon.h grammar). */
            if (prev != SNE_CANON_OPEN && prev != SNE_CANON_ATTR)
                return SNE_ERR_CORRUPT;
            if (prev == SNE_CANON_ATTR && strcmp(prev_attr, t.name) >= 0)
                return SNE_ERR_CORRUPT;
            prev_attr = t.name;
            na++;
            break;
        case SNE_CANON_TEXT:
            ns++;
            break;
        default:
            break;
        }
        prev = t.kind;
    }
    if (rc != 0 || nn == 0)
        return SNE_ERR_CORRUPT;
    *nnodes = nn;
    *nsegs = ns;
    *nattrs = na;
    return SNE_OK;
}

static int sortkey_cmp(const void *a, const void *b)
{
    const sortkey *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static void sort_keys(sortkey *k, size_t n)
{
    if (n > 16) {
        qsort(k, n, sizeof(*k), sortkey_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        sortkey v = k[i];
        size_t j = i;
        while (j > 0 && sortkey_cmp(&k[j - 1], &v) > 0) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = v;
    }
}

/* Called when element `n` closes: all its children are known. */
static void finish_node(tree *t, uint32_t n)
{
    node *nd = &t->nodes[n];
    if (sne_schema_is_sequence((const char *)t->in + nd->name)) {
        nd->kind = K_SEQ;
        return;
    }
    if (nd->nattr == 0 && nd->nchild == 0) {
        nd->kind = K_STR;
        return;
    }
    nd->kind = K_OBJ;
    size_t k = 0;
    for (uint32_t c = nd->first_child; c != NONE; c = t->nodes[c].next_sibling)
        t->keys[k++] = (sortkey){(const char *)t->in + t->nodes[c].name, c};
    sort_keys(t->keys, k);
    uint32_t head = NONE, last = NONE;
    for (size_t i = 0; i < k; i++) {
        uint32_t c = t->keys[i].idx;
        if (i == 0 || strcmp(t->keys[i].name, t->keys[i - 1].name) != 0) {
            if (head == NONE)
                nd->head_first = c;
            else
                t->nodes[head].head_next = c;
            head = c;
            t->nodes[c].group_size = 1;
        } else {
            t->nodes[last].group_next = c;
            t->nodes[head].group_size++;
        }
        last = c;
    }
}

static void tree_free(tree *t)
{
    free(t->heap);
    t->heap = NULL;
    sne_buf_free(&t->concat);
}

/* Builds the tree of `in`. On success the caller frees it with tree_free, whatever happens next. */
static sne_err tree_build(tree *t, const uint8_t *in, size_t len, stack_block *stack)
{
    uint32_t nn, ns, na;
    memset(t, 0, sizeof(*t));
    sne_buf_init(&t->concat, len);
    sne_err rc = scan(in, len, &nn, &ns, &na);
    if (rc)
        return rc;
    /* An object has at most one member per attribute, per child and for its text: the members of
     * the objects open at once never pass na + 2 nn. */
    size_t nm = (size_t)na + 2 * (size_t)nn;
    size_t need = (size_t)nn * (sizeof(node) + sizeof(sortkey)) + nm * sizeof(member) +
                  (size_t)ns * sizeof(seg);
    unsigned char *block;
    if (need <= sizeof(stack->bytes)) {
        block = stack->bytes;
    } else {
        block = t->heap = malloc(need);
        if (!block)
            return SNE_ERR_NOMEM;
    }
    /* sortkey and member (holding pointers) first, then the uint32_t-only arrays. */
    t->in = in;
    t->keys = (sortkey *)block;
    t->members = (member *)(block + (size_t)nn * sizeof(sortkey));
    t->nodes = (node *)((unsigned char *)t->members + nm * sizeof(member));
    t->segs = (seg *)((unsigned char *)t->nodes + (size_t)nn * sizeof(node));

    sne_canon_reader r;
    sne_canon_token tok;
    uint32_t stack_nodes[SNE_CANON_MAX_DEPTH];
    size_t depth = 0;
    uint32_t n_used = 0, s_used = 0;
    sne_canon_reader_init(&r, in, len);
    while (sne_canon_next(&r, &tok) == 1) {
        uint32_t top = depth ? stack_nodes[depth - 1] : NONE;
        switch (tok.kind) {
        case SNE_CANON_OPEN: {
            uint32_t n = n_used++;
            node *nd = &t->nodes[n];
            *nd = (node){.name = (uint32_t)((const uint8_t *)tok.name - in),
                         .name_len = (uint32_t)tok.name_len,
                         .attrs = (uint32_t)(r.p - in),
                         .seg_first = NONE,
                         .seg_last = NONE,
                         .first_child = NONE,
                         .last_child = NONE,
                         .next_sibling = NONE,
                         .group_next = NONE,
                         .head_first = NONE,
                         .head_next = NONE};
            if (top != NONE) {
                node *p = &t->nodes[top];
                if (p->last_child == NONE)
                    p->first_child = n;
                else
                    t->nodes[p->last_child].next_sibling = n;
                p->last_child = n;
                p->nchild++;
            }
            stack_nodes[depth++] = n;
            break;
        }
        case SNE_CANON_ATTR:
            t->nodes[top].nattr++;
            break;
        case SNE_CANON_TEXT: {
            uint32_t s = s_used++;
            node *p = &t->nodes[top];
            t->segs[s] =
                (seg){(uint32_t)((const uint8_t *)tok.value - in), (uint32_t)tok.value_len, NONE};
            if (p->seg_last == NONE)
                p->seg_first = s;
            else
                t->segs[p->seg_last].next = s;
            p->seg_last = s;
            p->nseg++;
            break;
        }
        case SNE_CANON_CLOSE:
            finish_node(t, stack_nodes[--depth]);
            break;
        }
    }
    return SNE_OK;
}

/* The text of element `n`: borrowed from the input, or from t->concat when it has several
 * segments (valid until the next call for the same tree). */
static sne_err node_text(tree *t, uint32_t n, const uint8_t **s, size_t *len)
{
    const node *nd = &t->nodes[n];
    if (nd->nseg == 0) {
        *s = (const uint8_t *)"";
        *len = 0;
        return SNE_OK;
    }
    const seg *g = &t->segs[nd->seg_first];
    if (nd->nseg == 1) {
        *s = t->in + g->off;
        *len = g->len;
        return SNE_OK;
    }
    sne_buf_reset(&t->concat);
    for (uint32_t i = nd->seg_first; i != NONE; i = t->segs[i].next) {
        sne_err rc = sne_buf_append(&t->concat, t->in + t->segs[i].off, t->segs[i].len);
        if (rc)
            return rc;
    }
    *s = t->concat.data;
    *len = t->concat.len;
    return SNE_OK;
}

/* Reads the ATTR token at *p (validated input), advancing past it. */
static void next_attr(const uint8_t **p, const char **name, size_t *nl, const char **val,
                      size_t *vl)
{
    const char *s = (const char *)*p + 1;
    *name = s;
    *nl = strlen(s);
    s += *nl + 1;
    *val = s;
    *vl = strlen(s);
    *p = (const uint8_t *)s + *vl + 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Rendering */

static sne_err put_text(tree *t, uint32_t n, sne_buf *out)
{
    const uint8_t *s;
    size_t len;
    sne_err rc = node_text(t, n, &s, &len);
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
        next_attr(&p, &name, &nl, &val, &vl);
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

/* ------------------------------------------------------------------------------------------ */
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
    return node_text(t, v.node, s, len);
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
        next_attr(&ap, &an, &anl, &av, &avl);
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
